-- phase3_queue_claim --
-- Claim up to `limit` available rows for `consumer`, skipping rows other consumers hold;
-- the claim lasts `visibility_seconds`, after which the row can be claimed again.
WITH picked AS (
    SELECT id
    FROM phase3_queue
    WHERE status IN ('queued', 'claimed') AND available_at <= now()
    ORDER BY available_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE phase3_queue q
SET status = 'claimed',
    attempts = q.attempts + 1,
    claimed_at = now(),
    claimed_by = %(consumer)s,
    available_at = now() + make_interval(secs => %(visibility_seconds)s)
FROM picked
WHERE q.id = picked.id
RETURNING q.id, q.message_id, q.ig_id, q.connected_user_id, q.attempts;

-- phase3_queue_complete --
-- Mark a claimed row done; only the consumer holding the claim can.
UPDATE phase3_queue
SET status = 'done', completed_at = now(), last_error = NULL
WHERE id = %(id)s AND status = 'claimed' AND claimed_by = %(consumer)s
RETURNING id;

-- phase3_queue_fail --
-- Give a claimed row back with the error, to be claimed again in `retry_in_seconds`, or
-- fail it for good once it has had `max_attempts`.
UPDATE phase3_queue
SET status = CASE WHEN attempts >= %(max_attempts)s THEN 'failed' ELSE 'queued' END,
    last_error = %(error)s,
    claimed_by = NULL,
    available_at = now() + make_interval(secs => %(retry_in_seconds)s)
WHERE id = %(id)s AND status = 'claimed' AND claimed_by = %(consumer)s
RETURNING id, status;

-- phase3_queue_delete_done --
-- Retention: delete the rows done more than `seconds` ago; returns how many went.
WITH deleted AS (
    DELETE FROM phase3_queue
    WHERE status = 'done' AND completed_at < now() - make_interval(secs => %(seconds)s)
    RETURNING 1
)
SELECT count(*) AS deleted FROM deleted;

-- phase3_queue_listen --
-- Be woken when a row is added: the table's insert trigger notifies this channel.
LISTEN phase3_queue;
