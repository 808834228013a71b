-- webhook_deliveries_insert --
-- Store a delivery as received (`body` is JSON text); returns its id.
INSERT INTO webhook_deliveries (body, signed)
VALUES (%(body)s::jsonb, %(signed)s)
RETURNING id;

-- webhook_deliveries_get --
-- One delivery, with its body.
SELECT id, body, signed, received_at, status, attempts, messages_forwarded, last_error,
       processed_at
FROM webhook_deliveries
WHERE id = %(id)s;

-- webhook_deliveries_record_attempt --
-- Record the outcome of one forwarding attempt.
UPDATE webhook_deliveries
SET attempts = attempts + 1,
    status = %(status)s,
    messages_forwarded = %(messages_forwarded)s,
    last_error = %(last_error)s,
    processed_at = now()
WHERE id = %(id)s
RETURNING id, signed, received_at, status, attempts, messages_forwarded, last_error,
          processed_at;

-- webhook_deliveries_purge --
-- Delete forwarded deliveries older than the retention; returns how many went.
WITH gone AS (
    DELETE FROM webhook_deliveries
    WHERE status = 'forwarded'
      AND processed_at < now() - make_interval(days => %(retention_days)s)
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
