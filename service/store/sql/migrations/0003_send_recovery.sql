-- Recovery points for DM sends, and per-account rate-limit backoff.
--
-- The Graph API has no idempotency key. Before each call the sender commits the attempt
-- (counted in `attempts`) with an id and a start time; the outcome clears them. A row
-- found with an attempt still marked was interrupted (its worker died mid-call): see
-- docs/reliability.md for what happens to it.
ALTER TABLE outbound_messages
    ADD COLUMN sending_attempt_id uuid,
    ADD COLUMN sending_started_at timestamptz;

-- An Instagram account over a Graph API rate limit sends nothing until `limited_until`.
CREATE TABLE graph_rate_limits (
    scoped_id text PRIMARY KEY,
    limited_until timestamptz NOT NULL,
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER graph_rate_limits_updated_at BEFORE UPDATE ON graph_rate_limits
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE graph_rate_limits ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON graph_rate_limits FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;
