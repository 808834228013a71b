-- instagram_accounts_seed_environment --
-- The environment's account (INSTAGRAM_SCOPED_ID), at each start: added if new, kept as it
-- is if known (an operator's `ingest account remove` stands); an account the environment
-- named before, and no longer does, is removed.
WITH retired AS (
    UPDATE instagram_accounts
    SET removed_at = now()
    WHERE source = 'environment' AND ig_id <> %(ig_id)s AND removed_at IS NULL
)
INSERT INTO instagram_accounts (ig_id, source)
VALUES (%(ig_id)s, 'environment')
ON CONFLICT (ig_id) DO NOTHING;

-- instagram_accounts_add --
-- An account added by `ingest account add`: new, or answered again after a removal.
INSERT INTO instagram_accounts (ig_id, username, source)
VALUES (%(ig_id)s, %(username)s, 'cli')
ON CONFLICT (ig_id) DO UPDATE
SET username = EXCLUDED.username, removed_at = NULL;

-- instagram_accounts_remove --
-- Stop answering an account; its rows stay. Returns the account when it was answered.
UPDATE instagram_accounts
SET removed_at = now()
WHERE ig_id = %(ig_id)s AND removed_at IS NULL
RETURNING ig_id;

-- instagram_accounts_active --
-- The ids of the accounts the service answers.
SELECT ig_id FROM instagram_accounts WHERE removed_at IS NULL ORDER BY ig_id;

-- instagram_accounts_overview --
-- Every account answered, with what an operator checks: its token's state, its last
-- subscription check, its last delivery and its held sends. Never a token.
SELECT a.ig_id, a.username, a.source, a.added_at,
       t.expires_at AS token_expires_at, t.invalid_at AS token_invalid_at,
       s.subscribed, s.checked_at AS subscription_checked_at,
       (SELECT max(m.created_at) FROM messages m
        WHERE m.recipient_ig_id = a.ig_id) AS last_delivery_at,
       (SELECT count(*) FROM outbound_messages o
        WHERE o.status = 'pending' AND coalesce(o.account_ig_id, %(environment)s) = a.ig_id
          AND (t.invalid_at IS NOT NULL OR EXISTS (
              SELECT 1 FROM graph_rate_limits r
              WHERE r.scoped_id = a.ig_id AND r.limited_until > now())))::integer AS sends_held
FROM instagram_accounts a
LEFT JOIN graph_access_tokens t ON t.scoped_id = a.ig_id
LEFT JOIN webhook_subscription_checks s ON s.scoped_id = a.ig_id
WHERE a.removed_at IS NULL
ORDER BY a.added_at, a.ig_id;
