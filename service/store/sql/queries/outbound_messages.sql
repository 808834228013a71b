-- outbound_messages_insert --
-- Record a DM to send; for an event's DM, a second insert of the same kind does nothing.
INSERT INTO outbound_messages (recipient_ig_id, kind, payload, message_id, account_ig_id)
VALUES (%(recipient_ig_id)s, %(kind)s, %(payload)s, %(message_id)s, %(account_ig_id)s)
ON CONFLICT (message_id, kind) WHERE message_id IS NOT NULL DO NOTHING
RETURNING {OutboundMessage};

-- outbound_messages_get --
-- One DM's row.
SELECT {OutboundMessage}
FROM outbound_messages
WHERE id = %(id)s;

-- outbound_messages_get_many --
-- Several DMs' rows, in `ids`' order; an unknown id is left out.
SELECT {OutboundMessage}
FROM outbound_messages
WHERE id = ANY(%(ids)s::uuid[])
ORDER BY array_position(%(ids)s::uuid[], id);

-- outbound_messages_get_pending_for_message --
-- A message's DMs still pending: what its decision job has left to send.
SELECT {OutboundMessage}
FROM outbound_messages
WHERE message_id = %(message_id)s AND status = 'pending'
ORDER BY created_at;

-- outbound_messages_get_pending_for_messages --
-- `outbound_messages_get_pending_for_message` for several messages at once.
SELECT {OutboundMessage}
FROM outbound_messages
WHERE message_id = ANY(%(message_ids)s::text[]) AND status = 'pending'
ORDER BY created_at;

-- outbound_messages_sent_lately --
-- What went to an account lately, for the decision of their message (their profile
-- locked): whether they were acknowledged within `cooldown_seconds` (never, at 0), and
-- whether a verification DM to them is under way: pending, or sent within
-- `verification_resend_seconds` with a token still usable.
SELECT (%(cooldown_seconds)s::float8 > 0 AND EXISTS (
           SELECT 1 FROM outbound_messages
           WHERE recipient_ig_id = %(ig_id)s AND kind = 'acknowledgement'
             AND created_at > now() - make_interval(secs => %(cooldown_seconds)s::float8)
       )) AS acknowledged_recently,
       EXISTS (
           SELECT 1
           FROM outbound_messages o
           LEFT JOIN verification_tokens t ON t.created_by_event_id = o.message_id
           WHERE o.recipient_ig_id = %(ig_id)s
             AND o.kind = 'verification'
             AND o.created_at
                 > now() - make_interval(secs => %(verification_resend_seconds)s::float8)
             AND (o.status = 'pending'
                  OR (o.status = 'sent' AND t.token_hash IS NOT NULL
                      AND NOT t.consumed AND t.expires_at > now()))
       ) AS verification_under_way;

-- outbound_messages_begin_attempt --
-- The recovery point, committed before a Graph API call: count the attempt and mark it in
-- flight, for each DM of the arrays (`id`, `scoped_id`, `attempt_id`, `lease_seconds`,
-- `window_seconds`, `window_error`: one element per DM), in one statement. Nothing while
-- the DM's account `scoped_id` is held by a rate limit (`hold_seconds` says how long), and
-- nothing while an earlier attempt may still be in flight (marked less than
-- `lease_seconds` ago), so two runners of one send never call at once. Nothing either
-- while the account's access token is marked invalid (code 190; `token_invalid`). A DM
-- whose recipient's messaging window has closed (`window_seconds`) is failed instead, with
-- `window_error`, whatever holds the account, as `outbound_messages_fail_if_window_closed`
-- does (`window_closed`). One row per DM, in the arrays' order (`n`): `hold_seconds`,
-- `token_invalid`, `window_closed`, and the DM's columns when the attempt began or the DM
-- was failed, else NULLs.
-- The DMs are found by their ids alone, `= ANY` of the array (joined to the arrays' rows
-- only, the planner scans the whole table): the status is tested as neither sent nor
-- failed (pending, by the table's CHECK), which no index answers. Tested as `= 'pending'`,
-- it let the planner reach the rows through the status index, as the statistics say few
-- DMs are pending; in a burst thousands are, and each statement walked them all. The same
-- in the statements below.
WITH p AS (
    SELECT *
    FROM unnest(%(id)s::uuid[], %(scoped_id)s::text[], %(attempt_id)s::uuid[],
                %(lease_seconds)s::float8[], %(window_seconds)s::float8[],
                %(window_error)s::text[])
         WITH ORDINALITY AS p (id, scoped_id, attempt_id, lease_seconds, window_seconds,
                               window_error, n)
), held AS (
    SELECT p.*,
           (SELECT coalesce(max(extract(epoch FROM r.limited_until - now())), 0)::float8
            FROM graph_rate_limits r
            WHERE r.scoped_id = p.scoped_id AND r.limited_until > now()) AS hold_seconds,
           EXISTS (
               SELECT 1 FROM graph_access_tokens t
               WHERE t.scoped_id = p.scoped_id AND t.invalid_at IS NOT NULL
           ) AS token_invalid
    FROM p
), closed AS (
    UPDATE outbound_messages o
    SET status = 'failed', error = held.window_error,
        sending_attempt_id = NULL, sending_started_at = NULL
    FROM held
    WHERE o.id = ANY (%(id)s::uuid[]) AND o.id = held.id
      AND o.status NOT IN ('sent', 'failed')
      AND (o.sending_attempt_id IS NULL
           OR o.sending_started_at < now() - make_interval(secs => held.lease_seconds))
      AND messaging_window_closed_v1(o.recipient_ig_id, o.message_id,
                                  make_interval(secs => held.window_seconds))
    RETURNING held.n, {o.OutboundMessage}
), began AS (
    UPDATE outbound_messages o
    SET attempts = o.attempts + 1,
        sending_attempt_id = held.attempt_id,
        sending_started_at = now()
    FROM held
    WHERE o.id = ANY (%(id)s::uuid[]) AND o.id = held.id
      AND o.status NOT IN ('sent', 'failed')
      AND held.hold_seconds = 0
      AND NOT held.token_invalid
      AND (o.sending_attempt_id IS NULL
           OR o.sending_started_at < now() - make_interval(secs => held.lease_seconds))
      AND NOT messaging_window_closed_v1(o.recipient_ig_id, o.message_id,
                                      make_interval(secs => held.window_seconds))
    RETURNING held.n, {o.OutboundMessage}
), dm AS (
    SELECT false AS window_closed, began.* FROM began
    UNION ALL
    SELECT true AS window_closed, closed.* FROM closed
)
SELECT held.hold_seconds, held.token_invalid,
       coalesce(dm.window_closed, false) AS window_closed, {dm.OutboundMessage}
FROM held LEFT JOIN dm ON dm.n = held.n
ORDER BY held.n;

-- outbound_messages_fail_if_window_closed --
-- Fail a pending DM, without a call, when its recipient's messaging window has closed
-- (`messaging_window_closed_v1`); nothing while an attempt younger than `lease_seconds` may be
-- in flight. Returns the failed row, or nothing when the DM may be sent.
UPDATE outbound_messages
SET status = 'failed', error = %(error)s, sending_attempt_id = NULL, sending_started_at = NULL
WHERE id = %(id)s AND status NOT IN ('sent', 'failed')
  AND (sending_attempt_id IS NULL
       OR sending_started_at < now() - make_interval(secs => %(lease_seconds)s))
  AND messaging_window_closed_v1(recipient_ig_id, message_id,
                              make_interval(secs => %(window_seconds)s))
RETURNING {OutboundMessage};

-- outbound_messages_record_attempt --
-- Record the outcome of each attempt of the arrays (`id`, `attempt_id`, ...: one element
-- per DM), in one statement, and clear its recovery point. A NULL attempt_id is a
-- decision made without a call, taken only if no attempt may still be in flight
-- (`lease_seconds`). Nothing for a row no longer pending, or whose attempt is not the
-- row's. A rate-limit answer also holds every send of the account `scoped_id` for
-- `hold_seconds` from now (when above 0), never shortening a longer hold. `refund`: the
-- call does not count against the retry budget (the access token was refused: not the
-- DM's fault), though `attempts` still counts it. Returns the rows recorded, each with its
-- place in the arrays (`n`).
WITH p AS (
    SELECT *
    FROM unnest(%(id)s::uuid[], %(attempt_id)s::uuid[], %(lease_seconds)s::float8[],
                %(status)s::text[], %(remote_message_id)s::text[], %(error)s::text[],
                %(payload_patch)s::jsonb[], %(scoped_id)s::text[], %(hold_seconds)s::float8[],
                %(refund)s::boolean[])
         WITH ORDINALITY AS p (id, attempt_id, lease_seconds, status, remote_message_id,
                               error, payload_patch, scoped_id, hold_seconds, refund, n)
), hold AS (
    INSERT INTO graph_rate_limits (scoped_id, limited_until, error)
    SELECT DISTINCT ON (p.scoped_id)
           p.scoped_id, now() + make_interval(secs => p.hold_seconds), p.error
    FROM p
    WHERE p.hold_seconds > 0
    ORDER BY p.scoped_id, p.hold_seconds DESC
    ON CONFLICT (scoped_id) DO UPDATE
    SET limited_until = greatest(graph_rate_limits.limited_until, EXCLUDED.limited_until),
        error = EXCLUDED.error
)
UPDATE outbound_messages o
SET status = p.status,
    remote_message_id = coalesce(p.remote_message_id, o.remote_message_id),
    error = p.error,
    payload = o.payload || p.payload_patch,
    retry_base = o.retry_base + CASE WHEN p.refund THEN 1 ELSE 0 END,
    sending_attempt_id = NULL,
    sending_started_at = NULL
FROM p
WHERE o.id = ANY (%(id)s::uuid[]) AND o.id = p.id
  AND o.status NOT IN ('sent', 'failed')
  AND CASE WHEN p.attempt_id IS NULL
           THEN o.sending_attempt_id IS NULL
                OR o.sending_started_at < now() - make_interval(secs => p.lease_seconds)
           ELSE o.sending_attempt_id = p.attempt_id END
RETURNING p.n, {o.OutboundMessage};

-- outbound_messages_requeue_jobless --
-- The pending DMs whose send has not begun (no attempt marked in flight) and that no job
-- will send: their job failed, gave up or was lost. A DM's job is its own `send_outbound`,
-- or the `decide_message` (`process_message` before migration 0024) of the message it
-- answers. Each is marked with `reason` (after its last error) for the caller to defer its
-- `send_outbound` in the same transaction; at most `batch_size`, oldest first, skipping rows
-- another transaction holds. A verification
-- DM asked for through send-verification-dm stays out: its token's plaintext was never
-- stored, so no job could send its link (`outbound_messages_fail_orphaned` ends it). So
-- does a DM given a turn (`paced_at`) that came less than `turn_grace_seconds` ago or is
-- still to come: a worker waits for it in place (`service.dms.batch_sending`).
WITH jobless AS MATERIALIZED (
    SELECT o.id
    FROM outbound_messages o
    WHERE o.status = 'pending'
      AND o.sending_attempt_id IS NULL
      AND (o.paced_at IS NULL
           OR o.paced_at < now() - make_interval(secs => %(turn_grace_seconds)s))
      AND NOT (o.kind = 'verification' AND o.message_id IS NULL)
      AND NOT EXISTS (
          SELECT 1 FROM procrastinate_jobs j
          WHERE j.status IN ('todo', 'doing')
            AND ((j.task_name = 'send_outbound' AND j.args ->> 'outbound_id' = o.id::text)
                 OR (j.task_name IN ('decide_message', 'process_message')
                     AND j.args ->> 'mid' = o.message_id)))
    ORDER BY o.created_at, o.id
    LIMIT %(batch_size)s
    FOR UPDATE SKIP LOCKED
)
UPDATE outbound_messages o
SET error = %(reason)s || coalesce('; before: ' || o.error, '')
FROM jobless
WHERE o.id = jobless.id
RETURNING o.id;

-- outbound_messages_fail_orphaned --
-- Fail the DMs left pending with no job to finish them, untouched for `idle_seconds`
-- (beyond any live sender): sent from a request whose web process died (their token's
-- plaintext is gone, so they cannot be sent again), or cut off mid-call by a job that then
-- stopped. The error says whether a call may have reached Meta: `in_flight_error` for an
-- attempt marked in flight, `unsent_error` for none.
UPDATE outbound_messages o
SET status = 'failed',
    error = CASE WHEN o.sending_attempt_id IS NULL THEN %(unsent_error)s
                 ELSE %(in_flight_error)s END,
    sending_attempt_id = NULL, sending_started_at = NULL
WHERE o.status = 'pending'
  AND o.updated_at < now() - make_interval(secs => %(idle_seconds)s)
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.status IN ('todo', 'doing')
        AND ((j.task_name = 'send_outbound' AND j.args ->> 'outbound_id' = o.id::text)
             OR (j.task_name IN ('decide_message', 'process_message')
                 AND j.args ->> 'mid' = o.message_id)))
RETURNING o.id;

-- outbound_messages_token_dmed_recently --
-- Whether a verification DM of this token to this account is under way, or was sent,
-- within the last `window_seconds`: then send-verification-dm refuses to send it again.
SELECT EXISTS (
    SELECT 1
    FROM outbound_messages
    WHERE recipient_ig_id = %(ig_id)s
      AND kind = 'verification'
      AND created_at > now() - make_interval(secs => %(window_seconds)s)
      AND payload ->> 'token_hash' = %(token_hash)s
      AND status IN ('pending', 'sent')
) AS recent;

-- outbound_messages_requeue_failed --
-- Put a batch of failed DMs back to `pending` as new attempts (`ingest retry-failed`), each
-- with a fresh retry budget: `retry_base` takes the calls made so far, which `attempts`
-- keeps counting. At most `batch_size`, in (created_at, id) order after the cursor
-- (`after_created_at`, `after_id`; NULLs: from the start), so that each batch commits on
-- its own. Each filter is optional; `since_seconds` means failed that recently, `error` a
-- part of the error, `outbound_id` one DM (the console's re-queue of one), `account` the
-- account sending (a DM naming none is `environment`'s). A DM whose
-- error starts with `unknown_prefix` (a send cut off, whose delivery is unknown) is taken
-- only with `include_unknown`. A verification DM asked for through send-verification-dm
-- stays out: its token's plaintext was never stored, so no job could send its link again.
-- So does a DM whose recipient's messaging window (`window_seconds`) has closed: it would
-- fail again at once.
-- The batch is a CTE, evaluated once: as a subquery in FROM, a rescan could take more.
WITH batch AS MATERIALIZED (
    SELECT id
    FROM outbound_messages
    WHERE status = 'failed'
      AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
      AND (%(recipient)s::text IS NULL OR recipient_ig_id = %(recipient)s::text)
      AND (%(account)s::text IS NULL
           OR coalesce(account_ig_id, %(environment)s::text) = %(account)s::text)
      AND (%(since_seconds)s::float8 IS NULL
           OR updated_at >= now() - make_interval(secs => %(since_seconds)s::float8))
      AND (%(error)s::text IS NULL OR strpos(error, %(error)s::text) > 0)
      AND (%(outbound_id)s::uuid IS NULL OR id = %(outbound_id)s::uuid)
      AND NOT (kind = 'verification' AND message_id IS NULL)
      AND (%(include_unknown)s OR NOT starts_with(coalesce(error, ''), %(unknown_prefix)s))
      AND NOT messaging_window_closed_v1(recipient_ig_id, message_id,
                                      make_interval(secs => %(window_seconds)s))
      AND (%(after_created_at)s::timestamptz IS NULL
           OR (created_at, id) > (%(after_created_at)s::timestamptz, %(after_id)s::uuid))
    ORDER BY created_at, id
    LIMIT %(batch_size)s
    FOR UPDATE
)
UPDATE outbound_messages o
SET status = 'pending', retry_base = o.attempts, requeued_at = now()
FROM batch
WHERE o.id = batch.id AND o.status = 'failed'
RETURNING {o.OutboundMessage};

-- outbound_messages_count_failed_left_out --
-- How many failed DMs `retry-failed` with the same filters leaves out: `unknown`, whose
-- delivery is unknown (error starting with `unknown_prefix`; 0 with `include_unknown`), and
-- `window_closed`, whose recipient's messaging window has closed (not counted twice).
SELECT count(*) FILTER (
           WHERE NOT %(include_unknown)s AND starts_with(coalesce(error, ''), %(unknown_prefix)s)
       )::integer AS unknown,
       count(*) FILTER (
           WHERE (%(include_unknown)s OR NOT starts_with(coalesce(error, ''), %(unknown_prefix)s))
             AND messaging_window_closed_v1(recipient_ig_id, message_id,
                                         make_interval(secs => %(window_seconds)s))
       )::integer AS window_closed
FROM outbound_messages
WHERE status = 'failed'
  AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
  AND (%(recipient)s::text IS NULL OR recipient_ig_id = %(recipient)s::text)
  AND (%(account)s::text IS NULL
       OR coalesce(account_ig_id, %(environment)s::text) = %(account)s::text)
  AND (%(since_seconds)s::float8 IS NULL
       OR updated_at >= now() - make_interval(secs => %(since_seconds)s::float8))
  AND (%(error)s::text IS NULL OR strpos(error, %(error)s::text) > 0)
  AND (%(outbound_id)s::uuid IS NULL OR id = %(outbound_id)s::uuid)
  AND NOT (kind = 'verification' AND message_id IS NULL);

-- outbound_messages_record_read --
-- A read receipt: `reader` read the conversation up to message `mid`, our DM (its
-- `remote_message_id`) or the echo of one sent from elsewhere. Every DM sent to them made at
-- or before it, and not read yet, was read at `read_at`. Returns how many were marked; none
-- when `mid` is neither (a receipt Meta repeats, or of a message we do not know).
WITH upto AS (
    SELECT created_at AS at FROM outbound_messages
    WHERE recipient_ig_id = %(reader)s AND remote_message_id = %(mid)s
    UNION ALL
    SELECT "timestamp" FROM messages
    WHERE id = %(mid)s AND is_echo AND recipient_ig_id = %(reader)s
    LIMIT 1
), marked AS (
    UPDATE outbound_messages o
    SET read_at = least(%(read_at)s::timestamptz, now())
    FROM upto
    WHERE o.recipient_ig_id = %(reader)s AND o.status = 'sent' AND o.read_at IS NULL
      AND o.created_at <= upto.at
    RETURNING 1
)
SELECT count(*)::integer AS marked FROM marked;
