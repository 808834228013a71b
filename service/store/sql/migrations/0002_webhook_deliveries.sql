-- Meta's webhook deliveries, stored as received before anything reads them, so that a
-- parser bug or a downstream outage never loses an event: `forward_delivery` reads them,
-- and `ingest replay-delivery <id>` runs one again.

CREATE TABLE webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body jsonb NOT NULL,                           -- the decoded request body
    signed boolean NOT NULL,                       -- false only in development mode
    received_at timestamptz NOT NULL DEFAULT now(),
    -- received: waiting for (or between) forwarding attempts; forwarded: every message
    -- reached the ingest endpoint; failed: retries ran out or a message was refused.
    status text NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'forwarded', 'failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    messages_forwarded integer NOT NULL DEFAULT 0,
    last_error text,
    processed_at timestamptz,                      -- when the last attempt finished
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- What is still waiting (an operator's first question), and what retention may delete.
CREATE INDEX webhook_deliveries_pending
    ON webhook_deliveries (received_at) WHERE status <> 'forwarded';
CREATE INDEX webhook_deliveries_forwarded
    ON webhook_deliveries (processed_at) WHERE status = 'forwarded';

CREATE TRIGGER webhook_deliveries_updated_at BEFORE UPDATE ON webhook_deliveries
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Row-level security as for the other tables (0001): the owner (the service) is not
-- restricted; a Supabase `service_role` may write; nobody else reads.
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON webhook_deliveries FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;
