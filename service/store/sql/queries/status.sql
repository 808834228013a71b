-- The status queries: what is queued, what is stuck, which DMs failed. `ingest status`,
-- GET /api/internal/status and GET /metrics run them, and each one also runs as it is
-- when pasted into psql. Each reads only what it reports, through an index, never a whole
-- table: they stay cheap however long the history grows.
--
-- That is why they take no %(name)s placeholders: their parameters are session
-- settings that default when unset. In psql, change one for the session first if the
-- default does not suit, e.g.
--     SET ingest.status_window = '24 hours';    -- DMs and finished jobs: how far back
--     SET ingest.unhandled_after = '5 minutes'; -- report messages unprocessed longer
--     SET ingest.stalled_after = '30 seconds';  -- a worker silent longer is stalled
--     SET ingest.failed_limit = '20';           -- how many of the latest failed DMs
--     SET ingest.messaging_window = '24 hours'; -- MESSAGING_WINDOW_SECONDS
--     SET ingest.jobless_after = '5 minutes';   -- report pending DMs without a job longer
-- The service sets them for one transaction with `status_configure` (the only query
-- here that psql cannot run as it is). Ages are whole seconds.

-- status_configure --
-- Set the status queries' parameters, and their time limit, for the current transaction.
SELECT set_config('ingest.status_window', %(window)s, true),
       set_config('ingest.unhandled_after', %(unhandled_after)s, true),
       set_config('ingest.stalled_after', %(stalled_after)s, true),
       set_config('ingest.failed_limit', %(failed_limit)s, true),
       set_config('ingest.messaging_window', %(messaging_window)s, true),
       set_config('ingest.jobless_after', %(jobless_after)s, true),
       -- SET LOCAL statement_timeout: a report that cannot be had quickly is cancelled
       -- rather than left to load the database behind a public endpoint.
       set_config('statement_timeout', %(statement_timeout)s, true),
       -- Compiling them costs more than running them (0.6 s of JIT seen at 3M jobs).
       set_config('jit', 'off', true);

-- status_jobs --
-- Jobs by queue, task and status: every live one (todo, doing), and those that finished
-- within ingest.status_window (default 1 hour); and how long the oldest runnable `todo`
-- job has waited (a job scheduled for later, like a send's retry, is not waiting yet).
WITH live AS (
    SELECT j.queue_name, j.task_name, j.status,
           CASE WHEN j.status = 'todo' THEN coalesce(j.scheduled_at, (
               SELECT max(e.at) FROM procrastinate_events e
               WHERE e.job_id = j.id AND e.type IN ('deferred', 'deferred_for_retry', 'retried')
           )) END AS waiting_since
    FROM procrastinate_jobs j
    WHERE j.status IN ('todo', 'doing')
), finished AS (
    -- Jobs have no time of their own: the event that finished one says when. Each
    -- job is looked up by its id (LIMIT 1 keeps it a lookup: joined as a set, the planner
    -- reads the whole job table once the window holds a few thousand jobs).
    SELECT DISTINCT ON (e.job_id) j.queue_name, j.task_name, j.status,
           NULL::timestamptz AS waiting_since
    FROM procrastinate_events e
    CROSS JOIN LATERAL (
        SELECT queue_name, task_name, status FROM procrastinate_jobs
        WHERE id = e.job_id AND status IN ('succeeded', 'failed', 'cancelled', 'aborted')
        LIMIT 1
    ) j
    WHERE e.type IN ('succeeded', 'failed', 'cancelled', 'aborted')
      AND e.at > now() - coalesce(nullif(current_setting('ingest.status_window', true), ''),
                                  '1 hour')::interval
)
SELECT queue_name AS queue, task_name AS task, status::text AS status, count(*) AS jobs,
       extract(epoch FROM now() - min(waiting_since) FILTER (WHERE waiting_since <= now()))::bigint
           AS oldest_todo_seconds
FROM (SELECT * FROM live UNION ALL SELECT * FROM finished) AS job
GROUP BY queue_name, task_name, status
ORDER BY queue_name, task_name, status;

-- status_outbound --
-- DMs created within ingest.status_window (default 1 hour), by kind and status, with the
-- Graph API calls they took, and how many of the failed ones cannot be retried because
-- their recipient's messaging window (ingest.messaging_window, default 24 hours) has
-- closed. (Every status is named, so that the index on (status, created_at) finds the
-- window.)
SELECT kind, status, count(*) AS dms, sum(attempts) AS attempts,
       count(*) FILTER (
           WHERE status = 'failed' AND messaging_window_closed_v1(
               recipient_ig_id, message_id,
               coalesce(nullif(current_setting('ingest.messaging_window', true), ''),
                        '24 hours')::interval)
       ) AS window_closed
FROM outbound_messages
WHERE status IN ('pending', 'sent', 'failed')
  AND created_at > now() - coalesce(nullif(current_setting('ingest.status_window', true), ''),
                                    '1 hour')::interval
GROUP BY kind, status
ORDER BY kind, status;

-- status_outbound_jobless --
-- Pending DMs that no job will send (neither their own `send_outbound` nor their
-- message's `decide_message` is waiting or running), untouched for longer than
-- ingest.jobless_after (default 5 minutes): how many, and the oldest. The rescue queues
-- such a DM again within seconds, or fails it; one that stays is stranded.
SELECT count(*) AS dms,
       (array_agg(o.id ORDER BY o.created_at, o.id))[1] AS oldest_id,
       extract(epoch FROM now() - min(o.updated_at))::bigint AS oldest_seconds
FROM outbound_messages o
WHERE o.status = 'pending'
  AND o.updated_at < now() - coalesce(nullif(current_setting('ingest.jobless_after', true), ''),
                                      '5 minutes')::interval
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.status IN ('todo', 'doing')
        AND ((j.task_name = 'send_outbound' AND j.args ->> 'outbound_id' = o.id::text)
             OR (j.task_name IN ('decide_message', 'process_message')
                  AND j.args ->> 'mid' = o.message_id)));

-- status_outbound_failed --
-- The latest failed DMs (ingest.failed_limit, default 20), newest failure first.
SELECT id, recipient_ig_id, kind, attempts, error, message_id, updated_at AS failed_at
FROM outbound_messages
WHERE status = 'failed'
ORDER BY updated_at DESC
LIMIT coalesce(nullif(current_setting('ingest.failed_limit', true), ''), '20')::int;

-- status_messages_unhandled --
-- Messages stored longer than ingest.unhandled_after (default 5 minutes) ago whose
-- decision has not been made (decided_at IS NULL): how many, and the oldest.
SELECT count(*) AS messages,
       CASE WHEN count(*) > 0 THEN (
           SELECT id FROM messages WHERE decided_at IS NULL ORDER BY created_at, id LIMIT 1
       ) END AS oldest_mid,
       extract(epoch FROM now() - min(created_at))::bigint AS oldest_seconds
FROM messages
WHERE decided_at IS NULL
  AND created_at < now() - coalesce(nullif(current_setting('ingest.unhandled_after', true), ''),
                                    '5 minutes')::interval;

-- status_phase3 --
-- The Phase 3 backlog: rows not done (nor withdrawn: their message was unsent) yet, by
-- status, with the oldest of each.
SELECT backlog.status, backlog.items, oldest.message_id AS oldest_message_id,
       extract(epoch FROM now() - oldest.created_at)::bigint AS oldest_seconds
FROM (
    SELECT status, count(*) AS items FROM phase3_queue
    WHERE status <> 'done' AND status <> 'withdrawn'
    GROUP BY status
) AS backlog
CROSS JOIN LATERAL (
    SELECT message_id, created_at FROM phase3_queue
    WHERE status = backlog.status AND status <> 'done'
    ORDER BY created_at
    LIMIT 1
) AS oldest
ORDER BY backlog.status;

-- status_deliveries --
-- Webhook deliveries not forwarded, by status (received: waiting for a forwarding attempt;
-- failed: its retries ran out, or a message was refused): how many, how many of them had
-- their last attempt within ingest.status_window (default 1 hour), how long the oldest has
-- waited since it was received, and the latest one's error.
SELECT pending.status, pending.deliveries, pending.in_window, pending.oldest_seconds,
       latest.id AS latest_id, latest.last_error AS latest_error
FROM (
    SELECT status, count(*) AS deliveries,
           count(*) FILTER (
               WHERE last_attempt_at > now() - coalesce(
                   nullif(current_setting('ingest.status_window', true), ''), '1 hour')::interval
           ) AS in_window,
           extract(epoch FROM now() - min(received_at))::bigint AS oldest_seconds
    FROM webhook_deliveries
    WHERE status <> 'forwarded'
    GROUP BY status
) AS pending
CROSS JOIN LATERAL (
    SELECT id, last_error FROM webhook_deliveries
    WHERE status = pending.status AND status <> 'forwarded'
    ORDER BY last_attempt_at DESC NULLS LAST, id DESC
    LIMIT 1
) AS latest
ORDER BY pending.status;

-- status_senderless_edits --
-- Edits that named no sender (what Meta is reported to send for messages to an app that is
-- not Live): how many arrived within ingest.status_window (default 1 hour), and the latest.
-- Each is a message that cannot be stored as one.
SELECT count(*) AS edits, max(received_at) AS latest_at
FROM message_edits
WHERE sender_ig_id IS NULL
  AND received_at > now() - coalesce(nullif(current_setting('ingest.status_window', true), ''),
                                     '1 hour')::interval;

-- status_verification_reads --
-- Verification DMs sent within ingest.status_window (default 1 hour), and how many of them
-- their recipient read within an hour of their sending (Meta's read receipts,
-- `read_at`): how many people open the link's DM.
SELECT count(*) AS sent,
       count(*) FILTER (WHERE read_at <= created_at + interval '1 hour') AS read_within_hour
FROM outbound_messages
WHERE status = 'sent' AND kind = 'verification'
  AND created_at > now() - coalesce(nullif(current_setting('ingest.status_window', true), ''),
                                    '1 hour')::interval;
-- status_unknown_account_events --
-- Messages stored within ingest.status_window (default 1 hour) for an account the service
-- does not answer (a mis-subscribed app, a removed account): stored, never answered. An
-- environment account whose id is not set (`me`, the one id not a number) answers them
-- all. How many, the latest, and the accounts they were sent to.
SELECT count(*) AS events, max(m.created_at) AS latest_at,
       array_agg(DISTINCT m.account ORDER BY m.account) AS accounts
FROM (
    SELECT created_at, CASE WHEN is_echo THEN sender_ig_id ELSE recipient_ig_id END AS account
    FROM messages
    WHERE created_at > now() - coalesce(nullif(current_setting('ingest.status_window', true),
                                               ''), '1 hour')::interval
) m
WHERE NOT EXISTS (
    SELECT 1 FROM instagram_accounts a
    WHERE a.removed_at IS NULL AND (a.ig_id = m.account OR a.ig_id !~ '^[0-9]+$')
);

-- status_stalled_jobs --
-- Jobs in `doing` whose worker has sent no heartbeat for ingest.stalled_after (default
-- 30 seconds; workers beat every 10) or is gone: procrastinate's own test of a stalled
-- job. Nothing runs them until they are retried.
SELECT j.id, j.queue_name AS queue, j.task_name AS task, j.args, j.attempts, j.worker_id,
       w.last_heartbeat,
       (SELECT max(e.at) FROM procrastinate_events e
        WHERE e.job_id = j.id AND e.type = 'started') AS started_at
FROM procrastinate_jobs j
LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
WHERE j.status = 'doing'
  AND (w.id IS NULL
       OR w.last_heartbeat < now() - coalesce(
              nullif(current_setting('ingest.stalled_after', true), ''), '30 seconds')::interval)
ORDER BY j.id;

-- status_access_tokens --
-- Each stored access token's lifecycle (never the token): age, expiry, the last refresh
-- and its outcome, and whether the Graph API refused it (code 190).
SELECT scoped_id, source, issued_at, expires_at,
       extract(epoch FROM now() - issued_at)::bigint AS age_seconds,
       extract(epoch FROM expires_at - now())::bigint AS expires_in_seconds,
       refreshed_at, refresh_attempted_at, refresh_error, invalid_at, invalid_error
FROM graph_access_tokens t
WHERE NOT EXISTS (  -- a removed account's token is no longer used
    SELECT 1 FROM instagram_accounts a WHERE a.ig_id = t.scoped_id AND a.removed_at IS NOT NULL
)
ORDER BY scoped_id;

-- status_webhook_subscriptions --
-- What the last read of each account's webhook subscription found.
SELECT scoped_id, checked_at, subscribed, subscribed_fields, error,
       extract(epoch FROM now() - checked_at)::bigint AS checked_seconds_ago
FROM webhook_subscription_checks c
WHERE NOT EXISTS (
    SELECT 1 FROM instagram_accounts a WHERE a.ig_id = c.scoped_id AND a.removed_at IS NOT NULL
)
ORDER BY scoped_id;

-- status_account_silence --
-- Each answered account's silence: seconds since the latest message sent to it, or since
-- it was added when none was since. One account silent while others are not has lost its
-- subscription, or was never subscribed.
SELECT a.ig_id,
       extract(epoch FROM now() - greatest(a.added_at, (
           SELECT max(m.created_at) FROM messages m WHERE m.recipient_ig_id = a.ig_id
       )))::bigint AS silent_seconds
FROM instagram_accounts a
WHERE a.removed_at IS NULL
ORDER BY a.ig_id;

-- status_rate_limit_holds --
-- The accounts a Graph API rate limit holds now, and for how many seconds more.
SELECT scoped_id, extract(epoch FROM limited_until - now())::float8 AS seconds
FROM graph_rate_limits
WHERE limited_until > now()
ORDER BY scoped_id;

-- status_webhook_silence --
-- When the latest signed webhook delivery arrived (NULL: none stored).
SELECT max(received_at) AS latest_signed_at,
       extract(epoch FROM now() - max(received_at))::bigint AS silent_seconds
FROM webhook_deliveries
WHERE signed;

-- status_reconcile_runs --
-- Each account's latest reconciliation run (finished_at NULL: running, or killed), the
-- gaps that its runs finished within ingest.status_window found (messages Meta no longer
-- gives), and the messages its runs ever recovered. A run a quarter-hour: a small table.
SELECT DISTINCT ON (r.account_id)
       r.account_id, r.trigger, r.since, r.started_at, r.finished_at, r.conversations,
       r.messages_seen, r.already_stored, r.recovered, r.gaps, r.calls, r.gap_conversations,
       (SELECT coalesce(sum(w.gaps), 0) FROM reconcile_runs w
        WHERE w.account_id = r.account_id
          AND w.finished_at > now() - coalesce(nullif(current_setting('ingest.status_window', true), ''),
                                               '1 hour')::interval)::bigint AS gaps_in_window,
       (SELECT coalesce(sum(w.recovered), 0) FROM reconcile_runs w
        WHERE w.account_id = r.account_id)::bigint AS recovered_total
FROM reconcile_runs r
ORDER BY r.account_id, r.started_at DESC;
