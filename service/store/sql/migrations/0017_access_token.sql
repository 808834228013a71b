-- The Graph API access token, kept by the service so that it renews itself, and what the
-- webhook subscription watchdog last saw.
--
-- One row per Instagram account. `token_ciphertext` is the token encrypted with
-- TOKEN_ENCRYPTION_KEY (Fernet); the plaintext is stored nowhere. `seed_digest` is a keyed
-- hash (HMAC-SHA256 under a key derived from TOKEN_ENCRYPTION_KEY) of the
-- INSTAGRAM_ACCESS_TOKEN last seeded from the environment, so a process seeds again only
-- when the operator changes that setting, never over a token refreshed since.
-- `token_digest` is the same hash of the stored token. `invalid_at`: the Graph API
-- answered code 190 to this token; every send of the account waits until a new token is
-- stored, which clears it.
CREATE TABLE graph_access_tokens (
    scoped_id text PRIMARY KEY,
    token_ciphertext text NOT NULL,
    token_digest text NOT NULL,
    seed_digest text,
    source text NOT NULL CHECK (source IN ('environment', 'set', 'refresh')),
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    refreshed_at timestamptz,                 -- the last successful refresh
    refresh_attempted_at timestamptz,         -- the last refresh tried, whatever its outcome
    refresh_error text,                       -- NULL when the last refresh succeeded
    invalid_at timestamptz,
    invalid_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER graph_access_tokens_updated_at BEFORE UPDATE ON graph_access_tokens
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The last read of the account's webhook subscription (GET /{id}/subscribed_apps).
CREATE TABLE webhook_subscription_checks (
    scoped_id text PRIMARY KEY,
    checked_at timestamptz NOT NULL,
    subscribed boolean NOT NULL,              -- `messages` among the fields of some app
    subscribed_fields text[] NOT NULL DEFAULT '{}',
    error text,                               -- why the read failed, or what is missing
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER webhook_subscription_checks_updated_at BEFORE UPDATE
    ON webhook_subscription_checks FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The silence check reads the latest signed delivery.
CREATE INDEX webhook_deliveries_signed_received
    ON webhook_deliveries (received_at) WHERE signed;

ALTER TABLE graph_access_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_subscription_checks ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON graph_access_tokens FOR ALL TO service_role
            USING (true) WITH CHECK (true);
        CREATE POLICY service_role_all ON webhook_subscription_checks FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;
