-- phase3_queue_claim --
-- Claim up to `limit` rows for `consumer`, each leased for `visibility_seconds`, with its
-- message's columns (`phase3_claim_v1`, docs/phase3.md).
SELECT {Phase3Item}
FROM phase3_claim_v1(%(consumer)s, %(limit)s::integer, %(visibility_seconds)s::float8,
                     %(max_attempts)s::integer);

-- phase3_queue_extend --
-- Renew a claim's lease (`phase3_extend_v1`); `extended` false when it is no longer the claim's.
SELECT phase3_extend_v1(%(id)s::bigint, %(claim_token)s::uuid,
                        %(visibility_seconds)s::float8) AS extended;

-- phase3_queue_complete --
-- Mark a claimed row done (`phase3_complete_v1`); `completed` false when it is no longer the
-- claim's.
SELECT phase3_complete_v1(%(id)s::bigint, %(claim_token)s::uuid) AS completed;

-- phase3_queue_fail --
-- Give a claimed row back with the error, or fail it for good (`phase3_fail_v1`); `status`
-- the new one, NULL when the row is no longer the claim's.
SELECT phase3_fail_v1(%(id)s::bigint, %(claim_token)s::uuid, %(error)s,
                      %(retry_in_seconds)s::float8, %(max_attempts)s::integer) AS status;

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
