-- Sends paced under the Graph API's rate: a token bucket per Instagram account, shared by
-- every worker process (`service.store.send_buckets`).
--
-- `tokens` is what the bucket held at `refilled_at`; it refills at GRAPH_SEND_RATE a
-- second up to GRAPH_SEND_BURST, and each send takes one. `queued_until`: the end of the
-- line of acknowledgements waiting their turn, so that each waiter is given its own time to
-- come back rather than all of them coming back at once.
CREATE TABLE graph_send_buckets (
    scoped_id text PRIMARY KEY,
    tokens float8 NOT NULL,
    refilled_at timestamptz NOT NULL,
    queued_until timestamptz NOT NULL DEFAULT '-infinity',
    admitted boolean NOT NULL DEFAULT true,  -- whether the last taker got its token
    created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE graph_send_buckets ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON graph_send_buckets FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;

-- An acknowledgement's turn in the account's line (`queued_until`), given when it found the
-- bucket empty: it comes back then and needs no place in the line again.
ALTER TABLE outbound_messages ADD COLUMN paced_at timestamptz;
