-- Idempotency keys of POST /api/internal/send-dm: a request repeated with the same
-- `Idempotency-Key` header answers the DM the first one recorded. The key is the caller's
-- and may hold anything, so only its SHA-256 is kept, with the SHA-256 of the request's
-- fields, by which a key reused for another DM is refused. Kept a day at least, then
-- deleted by the worker's hourly retention.
CREATE TABLE idempotency_keys (
    key_hash text PRIMARY KEY CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    request_hash text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
    outbound_message_id uuid NOT NULL REFERENCES outbound_messages (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON idempotency_keys FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;
