-- graph_access_tokens_get --
-- The account's stored access token (encrypted) and its lifecycle.
SELECT {StoredAccessToken}
FROM graph_access_tokens
WHERE scoped_id = %(scoped_id)s;

-- graph_access_tokens_seed --
-- Store the token of INSTAGRAM_ACCESS_TOKEN the first time that setting is seen
-- (`graph_access_token_seeds`): a setting seen before, in this process or another, never
-- replaces a token stored since, refreshed, set or seeded. A new token clears the invalid
-- mark. Returns the row only when it stored the token.
WITH first_seen AS (
    INSERT INTO graph_access_token_seeds (scoped_id, seed_digest)
    VALUES (%(scoped_id)s, %(digest)s)
    ON CONFLICT DO NOTHING
    RETURNING scoped_id
)
INSERT INTO graph_access_tokens
    (scoped_id, token_ciphertext, token_digest, source, issued_at, expires_at)
SELECT scoped_id, %(ciphertext)s, %(digest)s, 'environment', now(),
       now() + make_interval(secs => %(lifetime_seconds)s)
FROM first_seen
ON CONFLICT (scoped_id) DO UPDATE
SET token_ciphertext = EXCLUDED.token_ciphertext,
    token_digest = EXCLUDED.token_digest,
    source = EXCLUDED.source,
    issued_at = EXCLUDED.issued_at,
    expires_at = EXCLUDED.expires_at,
    refresh_error = NULL,
    invalid_at = NULL,
    invalid_error = NULL
RETURNING scoped_id, issued_at, expires_at;

-- graph_access_tokens_set --
-- Store a token an operator gave (`ingest token set`), issued now; clears the invalid
-- mark. The current INSTAGRAM_ACCESS_TOKEN (`seed_digest`, if any) is recorded as seen, so
-- a restart does not put the setting's token back over this one.
WITH seen AS (
    INSERT INTO graph_access_token_seeds (scoped_id, seed_digest)
    SELECT %(scoped_id)s, %(seed_digest)s
    WHERE %(seed_digest)s::text IS NOT NULL
    ON CONFLICT DO NOTHING
)
INSERT INTO graph_access_tokens
    (scoped_id, token_ciphertext, token_digest, source, issued_at, expires_at)
VALUES (%(scoped_id)s, %(ciphertext)s, %(digest)s, 'set', now(),
        now() + make_interval(secs => %(lifetime_seconds)s))
ON CONFLICT (scoped_id) DO UPDATE
SET token_ciphertext = EXCLUDED.token_ciphertext,
    token_digest = EXCLUDED.token_digest,
    source = EXCLUDED.source,
    issued_at = EXCLUDED.issued_at,
    expires_at = EXCLUDED.expires_at,
    refresh_error = NULL,
    invalid_at = NULL,
    invalid_error = NULL
RETURNING scoped_id, issued_at, expires_at;

-- graph_access_tokens_refreshed --
-- Store the token a refresh returned, in place of the one refreshed (`old_digest`):
-- nothing if another token was stored meanwhile. Clears the invalid mark.
UPDATE graph_access_tokens
SET token_ciphertext = %(ciphertext)s,
    token_digest = %(digest)s,
    source = 'refresh',
    issued_at = now(),
    expires_at = now() + make_interval(secs => %(expires_in)s),
    refreshed_at = now(),
    refresh_attempted_at = now(),
    refresh_error = NULL,
    invalid_at = NULL,
    invalid_error = NULL
WHERE scoped_id = %(scoped_id)s AND token_digest = %(old_digest)s
RETURNING scoped_id, issued_at, expires_at;

-- graph_access_tokens_refresh_failed --
-- Record a refresh that did not return a token, and why.
UPDATE graph_access_tokens
SET refresh_attempted_at = now(), refresh_error = %(error)s
WHERE scoped_id = %(scoped_id)s;

-- graph_access_tokens_mark_invalid --
-- The Graph API answered code 190 to the token `digest`: hold every send of the account
-- until another token is stored. Nothing when the stored token is already another one.
UPDATE graph_access_tokens
SET invalid_at = coalesce(invalid_at, now()), invalid_error = %(error)s
WHERE scoped_id = %(scoped_id)s AND token_digest = %(digest)s;
