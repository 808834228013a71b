-- idempotency_keys_insert --
-- Record a key with its request and the DM it made; nothing if the key is taken (an insert
-- that races ours waits for it first), then read with `idempotency_keys_get`.
INSERT INTO idempotency_keys (key_hash, request_hash, outbound_message_id)
VALUES (%(key_hash)s, %(request_hash)s, %(outbound_message_id)s)
ON CONFLICT (key_hash) DO NOTHING
RETURNING {IdempotencyKey};

-- idempotency_keys_get --
-- A key's request and the DM it made.
SELECT {IdempotencyKey}
FROM idempotency_keys
WHERE key_hash = %(key_hash)s;

-- idempotency_keys_purge --
-- Delete the keys older than the retention; returns how many went.
WITH gone AS (
    DELETE FROM idempotency_keys
    WHERE created_at < now() - make_interval(secs => %(retention_seconds)s)
    RETURNING 1
)
SELECT count(*) AS deleted FROM gone;
