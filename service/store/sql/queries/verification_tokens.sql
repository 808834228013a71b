-- verification_tokens_upsert_for_event --
-- Store a token's hash for an event, as the send of its DM begins; a retried send replaces
-- the event's own unconsumed token of the same account, so an event never has more than
-- one. Returns nothing if it was consumed or is another account's.
INSERT INTO verification_tokens (token_hash, ig_id, expires_at, created_by_event_id)
VALUES (%(token_hash)s, %(ig_id)s, now() + make_interval(secs => %(ttl_seconds)s), %(event_id)s)
ON CONFLICT (created_by_event_id) WHERE created_by_event_id IS NOT NULL DO UPDATE
SET token_hash = EXCLUDED.token_hash, expires_at = EXCLUDED.expires_at, created_at = now()
WHERE NOT verification_tokens.consumed AND verification_tokens.ig_id = EXCLUDED.ig_id
RETURNING {VerificationToken};

-- verification_tokens_insert_for_event --
-- Store a token's hash for an event that has none; returns nothing if it has one, then
-- read with `verification_tokens_get_for_event` (a concurrent insert has committed by then).
INSERT INTO verification_tokens (token_hash, ig_id, expires_at, created_by_event_id)
VALUES (%(token_hash)s, %(ig_id)s, now() + make_interval(secs => %(ttl_seconds)s), %(event_id)s)
ON CONFLICT (created_by_event_id) WHERE created_by_event_id IS NOT NULL DO NOTHING
RETURNING {VerificationToken};

-- verification_tokens_get_for_event --
-- The token an event already has, if any.
SELECT {VerificationToken}
FROM verification_tokens
WHERE created_by_event_id = %(event_id)s;

-- verification_tokens_lock_for_event --
-- The token an event has, if any, locked until the transaction ends: two requests to DM
-- the event's token are serialised here, so the second sees the first's DM.
SELECT {VerificationToken}
FROM verification_tokens
WHERE created_by_event_id = %(event_id)s
FOR UPDATE;

-- verification_tokens_get_live --
-- A token by hash, if it belongs to the account and is unconsumed and unexpired, locked
-- until the transaction ends: two requests to DM one token are serialised here, so the
-- second sees the first's DM.
SELECT {VerificationToken}
FROM verification_tokens
WHERE token_hash = %(token_hash)s AND ig_id = %(ig_id)s
  AND NOT consumed AND expires_at > now()
FOR UPDATE;

-- verification_tokens_lock --
-- A token by hash, whatever its state, locked until the transaction ends: two calls that
-- consume one token are serialised here, so only the first connects.
SELECT {VerificationToken}, expires_at <= now() AS expired
FROM verification_tokens
WHERE token_hash = %(token_hash)s
FOR UPDATE;

-- verification_tokens_consume --
-- Mark a token used by a user, with the number of earlier messages that released.
UPDATE verification_tokens
SET consumed = true, consumed_at = now(), consumed_by_user_id = %(user_id)s,
    released_messages = %(released_messages)s
WHERE token_hash = %(token_hash)s
RETURNING token_hash;
