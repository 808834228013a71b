-- phase3_queue_claim --
-- Claim up to `limit` available rows for `consumer`, each under a fresh `claim_token` and a
-- lease of `visibility_seconds`, skipping rows other consumers hold. Rows that have had
-- `max_attempts` claims already (their consumer died or hung on each) become `failed`
-- instead, with their last error, and are not returned.
WITH exhausted AS (
    UPDATE phase3_queue q
    SET status = 'failed',
        claimed_by = NULL,
        claim_token = NULL,
        last_error = coalesce(q.last_error,
                              'claimed ' || q.attempts || ' times without being completed')
    FROM (
        -- `attempts > 0` lets the planner use the small index of retried rows.
        SELECT id
        FROM phase3_queue
        WHERE status IN ('queued', 'claimed') AND attempts > 0
          AND attempts >= %(max_attempts)s AND available_at <= now()
        FOR UPDATE SKIP LOCKED
    ) e
    WHERE q.id = e.id
),
picked AS (
    SELECT id
    FROM phase3_queue
    WHERE status IN ('queued', 'claimed') AND available_at <= now()
      AND attempts < %(max_attempts)s
    ORDER BY available_at, id
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
UPDATE phase3_queue q
SET status = 'claimed',
    attempts = q.attempts + 1,
    claimed_at = now(),
    claimed_by = %(consumer)s,
    claim_token = gen_random_uuid(),
    available_at = now() + make_interval(secs => %(visibility_seconds)s)
FROM picked
WHERE q.id = picked.id
RETURNING {q.Phase3Item};

-- phase3_queue_extend --
-- Renew a claim's lease: `visibility_seconds` from now. Only the claim whose token the row
-- still holds can; returns no row when it is no longer that claim's.
UPDATE phase3_queue
SET available_at = now() + make_interval(secs => %(visibility_seconds)s)
WHERE id = %(id)s AND status = 'claimed' AND claim_token = %(claim_token)s
RETURNING id;

-- phase3_queue_complete --
-- Mark a claimed row done; only the claim whose token the row still holds can.
UPDATE phase3_queue
SET status = 'done', completed_at = now(), last_error = NULL
WHERE id = %(id)s AND status = 'claimed' AND claim_token = %(claim_token)s
RETURNING id;

-- phase3_queue_fail --
-- Give a claimed row back with the error, to be claimed again in `retry_in_seconds`, or
-- fail it for good once it has had `max_attempts`; only the claim whose token the row
-- still holds can.
UPDATE phase3_queue
SET status = CASE WHEN attempts >= %(max_attempts)s THEN 'failed' ELSE 'queued' END,
    last_error = %(error)s,
    claimed_by = NULL,
    claim_token = NULL,
    available_at = now() + make_interval(secs => %(retry_in_seconds)s)
WHERE id = %(id)s AND status = 'claimed' AND claim_token = %(claim_token)s
RETURNING id, status;

-- phase3_queue_delete_done --
-- Retention: delete the rows done (or withdrawn) more than `seconds` ago; returns how many went.
WITH deleted AS (
    DELETE FROM phase3_queue
    WHERE status IN ('done', 'withdrawn')
      AND completed_at < now() - make_interval(secs => %(seconds)s)
    RETURNING 1
)
SELECT count(*) AS deleted FROM deleted;

-- phase3_queue_withdraw --
-- A message was unsent: its row, unless done, becomes `withdrawn` (never handed out again;
-- a consumer still holding it finds its claim gone at its next extend or complete), and
-- when a consumer may have worked on it (done, or claimed at least once) a `deletion`
-- notice is queued, claimable once the current lease, if any, has ended. Repeating it
-- changes nothing. Returns how many rows were withdrawn and notices queued.
WITH target AS (
    SELECT id, status, attempts, available_at, ig_id, connected_user_id
    FROM phase3_queue
    WHERE message_id = %(mid)s AND kind = 'message'
    FOR UPDATE
), withdrawn AS (
    UPDATE phase3_queue q
    SET status = 'withdrawn', claimed_by = NULL, claim_token = NULL, completed_at = now()
    FROM target
    WHERE q.id = target.id AND target.status IN ('queued', 'claimed', 'failed')
    RETURNING q.id
), notice AS (
    INSERT INTO phase3_queue (message_id, ig_id, connected_user_id, kind, available_at)
    SELECT %(mid)s, ig_id, connected_user_id, 'deletion',
           CASE WHEN status = 'claimed' THEN greatest(now(), available_at) ELSE now() END
    FROM target
    WHERE status = 'done' OR attempts > 0
    ON CONFLICT (message_id, kind) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM withdrawn)::integer AS withdrawn,
       (SELECT count(*) FROM notice)::integer AS notices;

-- phase3_queue_listen --
-- Be woken when a row is added: the table's insert trigger notifies this channel.
LISTEN phase3_queue;
