-- Several Instagram professional accounts in one deployment.
--
-- `instagram_accounts`: the accounts the service answers, one row per account, keyed by its
-- `user_id` (the webhook's `entry[].id`, the id in the Send API's path; `me` for an
-- environment account whose id is not set), which also keys its token
-- (`graph_access_tokens`), subscription check, rate-limit hold and send bucket. `source`:
-- `environment` (INSTAGRAM_SCOPED_ID + INSTAGRAM_ACCESS_TOKEN, seeded at each start) or
-- `cli` (`ingest account add`). `removed_at`: `ingest account remove`; the account is no
-- longer answered and its rows stay.
--
-- An IGSID is scoped to one account, so a profile belongs to the account its sender wrote
-- to (`instagram_profiles.account_ig_id`), and a DM to the account it is sent from
-- (`outbound_messages.account_ig_id`). Rows written before this migration have NULL there:
-- they belong to the environment's account, the only one there was.
CREATE TABLE instagram_accounts (
    ig_id text PRIMARY KEY,
    username text,
    source text NOT NULL CHECK (source IN ('environment', 'cli')),
    added_at timestamptz NOT NULL DEFAULT now(),
    removed_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER instagram_accounts_updated_at BEFORE UPDATE ON instagram_accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at_v1();

ALTER TABLE instagram_profiles ADD COLUMN account_ig_id text;
ALTER TABLE outbound_messages ADD COLUMN account_ig_id text;

ALTER TABLE instagram_accounts ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON instagram_accounts FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;

-- `ingest account list` reads each account's last delivery through it.
CREATE INDEX messages_recipient_created ON messages (recipient_ig_id, created_at DESC);
