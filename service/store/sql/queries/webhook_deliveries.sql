-- webhook_deliveries_release_digest --
-- Before storing a body: forget the digest of a delivery of the same bytes received more
-- than `window_seconds` ago, so that this post is stored as a delivery of its own.
UPDATE webhook_deliveries
SET body_sha256 = NULL
WHERE body_sha256 = %(body_sha256)s
  AND received_at < now() - make_interval(secs => %(window_seconds)s);

-- webhook_deliveries_insert --
-- Store a delivery as received (`body` is JSON text); returns its id, or no row when a
-- delivery of the same bytes is already stored (a concurrent post of them waits here
-- until the first one's transaction ends).
INSERT INTO webhook_deliveries (body, signed, body_sha256)
VALUES (%(body)s::jsonb, %(signed)s, %(body_sha256)s)
ON CONFLICT (body_sha256) WHERE body_sha256 IS NOT NULL DO NOTHING
RETURNING id;

-- webhook_deliveries_get_by_digest --
-- The delivery stored with these bytes' digest.
SELECT id FROM webhook_deliveries WHERE body_sha256 = %(body_sha256)s;

-- webhook_deliveries_get --
-- One delivery, with its body.
SELECT {StoredDelivery}
FROM webhook_deliveries
WHERE id = %(id)s;

-- webhook_deliveries_record_attempt --
-- Record the outcome of one forwarding attempt.
UPDATE webhook_deliveries
SET attempts = attempts + 1,
    status = %(status)s,
    messages_forwarded = %(messages_forwarded)s,
    last_error = %(last_error)s,
    last_attempt_at = now()
WHERE id = %(id)s
RETURNING {WebhookDelivery};

-- webhook_deliveries_purge --
-- Delete forwarded deliveries older than the retention; returns how many went.
WITH gone AS (
    DELETE FROM webhook_deliveries
    WHERE status = 'forwarded'
      AND last_attempt_at < now() - make_interval(days => %(retention_days)s)
    RETURNING 1
)
SELECT count(*) AS deleted FROM gone;

-- webhook_deliveries_orphaned --
-- Deliveries still `received` whose forwarding job is neither queued nor running (it failed
-- for good, or was cancelled or deleted): nothing would ever forward them. Locked, so that
-- their new jobs are deferred once; at most `limit`, oldest first.
SELECT d.id
FROM webhook_deliveries d
WHERE d.status = 'received'
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.task_name = %(task_name)s
        AND j.status IN ('todo', 'doing')
        AND j.args = jsonb_build_object('delivery_id', d.id)
  )
ORDER BY d.received_at
LIMIT %(limit)s
FOR UPDATE OF d SKIP LOCKED;

-- webhook_deliveries_requeue_failed --
-- Put a batch of failed deliveries back to `received` (`ingest replay-delivery --status
-- failed`), with a fresh retry budget: `retry_base` takes the attempts made so far. At most
-- `batch_size`, by id after `after_id` (NULL: from the start); `since_seconds` (optional)
-- means failed that recently. Returns their ids.
WITH batch AS MATERIALIZED (
    SELECT id
    FROM webhook_deliveries
    WHERE status = 'failed'
      AND (%(since_seconds)s::float8 IS NULL
           OR last_attempt_at >= now() - make_interval(secs => %(since_seconds)s::float8))
      AND (%(after_id)s::bigint IS NULL OR id > %(after_id)s::bigint)
    ORDER BY id
    LIMIT %(batch_size)s
    FOR UPDATE
)
UPDATE webhook_deliveries d
SET status = 'received', retry_base = d.attempts
FROM batch
WHERE d.id = batch.id AND d.status = 'failed'
RETURNING d.id;

-- webhook_deliveries_forget_message --
-- An unsent message's text, attachments and quick reply, and its edits' text, out of every
-- stored delivery that carried them (`webhook_deliveries_forget_message_v1`, migration 0027).
SELECT webhook_deliveries_forget_message_v1(%(mid)s::text);

-- webhook_deliveries_silence_before --
-- How long before this signed delivery the previous signed one arrived, in seconds; no row
-- when it is unsigned or the first.
SELECT extract(epoch FROM d.received_at - p.received_at)::float8 AS silent_seconds
FROM webhook_deliveries d
CROSS JOIN LATERAL (
    SELECT received_at FROM webhook_deliveries
    WHERE signed AND received_at < d.received_at
    ORDER BY received_at DESC
    LIMIT 1
) p
WHERE d.id = %(id)s AND d.signed;
