-- Every INSTAGRAM_ACCESS_TOKEN ever seeded, so that a seed stores its token only the first
-- time that setting is seen. Before, the row kept only the last seed's digest: two
-- processes started with different settings put their tokens back in turn, whichever
-- started last winning, even with an older, revoked token. Now a setting seen before never
-- replaces what was stored after it (a refresh, `ingest token set`, a newer seed).
--
-- `seed_digest` is the setting's keyed hash, as `graph_access_tokens.token_digest` is the
-- stored token's (HMAC-SHA256 under a key derived from TOKEN_ENCRYPTION_KEY): the setting
-- is recognised, its plaintext is stored nowhere. A new key makes every setting new again, as it makes the stored token
-- unreadable.
CREATE TABLE graph_access_token_seeds (
    scoped_id text NOT NULL,
    seed_digest text NOT NULL,
    seeded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scoped_id, seed_digest)
);

INSERT INTO graph_access_token_seeds (scoped_id, seed_digest, seeded_at)
SELECT scoped_id, seed_digest, issued_at
FROM graph_access_tokens
WHERE seed_digest IS NOT NULL;

ALTER TABLE graph_access_tokens DROP COLUMN seed_digest;

ALTER TABLE graph_access_token_seeds ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON graph_access_token_seeds FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;
