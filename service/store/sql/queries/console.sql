-- The operator console's queries (service/console). Each reads through an index what one
-- page shows; lists are paged by keyset (the last row's sort key), never by OFFSET.
-- Message texts, attachment URLs and verification tokens are not selected here, except by
-- `console_message_content`, which the console runs only when an operator reveals one.

-- console_message --
-- One message, without its text or attachments: only whether it has them, and the kinds of
-- what it shared; with its sender's username and name, when Meta gave them.
SELECT m.id, m.sender_ig_id, m.recipient_ig_id, m.is_echo, m.source, m."timestamp",
       m.processed, m.decided_at, m.created_at, m.deleted_at, m.edited_at, m.edit_count,
       m.message_text IS NOT NULL AS has_text,
       coalesce(jsonb_array_length(CASE jsonb_typeof(m.attachments) WHEN 'array'
                                   THEN m.attachments END), 0) AS attachment_count,
       ARRAY(SELECT item ->> 'kind' FROM jsonb_array_elements(m.shared_items) AS item)
           AS shared_kinds,
       p.username AS sender_username, p.display_name AS sender_display_name
FROM messages m LEFT JOIN instagram_profiles p ON p.ig_id = m.sender_ig_id
WHERE m.id = %(mid)s;

-- console_message_content --
-- A message's text and attachments, for an operator who asked to reveal them.
SELECT id, message_text, attachments
FROM messages
WHERE id = %(mid)s;

-- console_message_deliveries --
-- The webhook deliveries whose body carries this mid (as a message or a standby message),
-- without their bodies.
SELECT id, signed, received_at, status, attempts, messages_forwarded, last_error,
       last_attempt_at
FROM webhook_deliveries
WHERE body @> jsonb_build_object('entry', jsonb_build_array(jsonb_build_object(
          'messaging', jsonb_build_array(jsonb_build_object(
              'message', jsonb_build_object('mid', %(mid)s::text))))))
   OR body @> jsonb_build_object('entry', jsonb_build_array(jsonb_build_object(
          'standby', jsonb_build_array(jsonb_build_object(
              'message', jsonb_build_object('mid', %(mid)s::text))))))
ORDER BY id
LIMIT 20;

-- console_message_dms --
-- The DMs a message caused, without their texts.
SELECT id, recipient_ig_id, kind, status, attempts, retry_base, error, remote_message_id,
       requeued_at, created_at, updated_at, read_at
FROM outbound_messages
WHERE message_id = %(mid)s
ORDER BY created_at;

-- console_message_jobs --
-- The jobs of a message: its decision (`decide_message`, or `process_message` as it was
-- named before migration 0024), and the sends of its DMs (`outbound_ids`, text).
SELECT id, queue_name AS queue, task_name AS task, status::text AS status, attempts,
       scheduled_at
FROM procrastinate_jobs
WHERE task_name IN ('decide_message', 'process_message') AND args ->> 'mid' = %(mid)s
UNION ALL
SELECT id, queue_name, task_name, status::text, attempts, scheduled_at
FROM procrastinate_jobs
WHERE task_name = 'send_outbound' AND args ->> 'outbound_id' = ANY(%(outbound_ids)s::text[])
ORDER BY id;

-- console_job_events --
-- What happened to these jobs, in order: deferred, started, retried, succeeded, failed.
SELECT job_id, type::text AS type, at
FROM procrastinate_events
WHERE job_id = ANY(%(job_ids)s::bigint[])
ORDER BY at, id;

-- console_message_phase3 --
-- A message's Phase 3 rows: the message's own, and the notice of its unsend, if any.
SELECT id, kind, status, attempts, claimed_by, last_error, available_at, claimed_at,
       completed_at, created_at
FROM phase3_queue
WHERE message_id = %(mid)s
ORDER BY id;

-- console_profile --
-- One Instagram user: their profile (as Meta's User Profile API last gave it), connection,
-- and the last event that opened their messaging window.
SELECT ig_id, username, display_name, profile_pic_url, is_verified_user, follower_count,
       is_user_follow_business, is_business_follow_user, profile_fetched_at, profile_error,
       connected_user_id, connected_at, created_at, last_inbound_at
FROM instagram_profiles
WHERE ig_id = %(ig_id)s;

-- console_profile_by_username --
-- The Instagram user of this username (as Meta last gave it, in any case), if one.
SELECT ig_id
FROM instagram_profiles
WHERE lower(username) = lower(%(username)s) AND username IS NOT NULL
ORDER BY profile_fetched_at DESC NULLS LAST
LIMIT 1;

-- console_user_messages --
-- A user's messages, newest first, after the keyset (`before_ts`, `before_id`) when given.
SELECT id, "timestamp", source, processed, decided_at, message_text IS NOT NULL AS has_text
FROM messages
WHERE sender_ig_id = %(ig_id)s
  AND (%(before_ts)s::timestamptz IS NULL
       OR ("timestamp", id) < (%(before_ts)s::timestamptz, %(before_id)s::text))
ORDER BY "timestamp" DESC, id DESC
LIMIT %(limit)s;

-- console_user_dms --
-- The latest DMs to a user, without their texts.
SELECT id, kind, status, attempts, error, message_id, created_at, updated_at, read_at
FROM outbound_messages
WHERE recipient_ig_id = %(ig_id)s
ORDER BY created_at DESC
LIMIT %(limit)s;

-- console_failed_dms --
-- Failed DMs, newest failure first, each filter optional (`error`: a part of the error),
-- after the keyset (`before_at`, `before_id`) when given.
SELECT id, recipient_ig_id, kind, attempts, error, message_id, updated_at AS failed_at,
       account_ig_id
FROM outbound_messages
WHERE status = 'failed'
  AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
  AND (%(account)s::text IS NULL
       OR coalesce(account_ig_id, %(environment)s::text) = %(account)s::text)
  AND (%(error)s::text IS NULL OR strpos(error, %(error)s::text) > 0)
  AND (%(since_seconds)s::float8 IS NULL
       OR updated_at >= now() - make_interval(secs => %(since_seconds)s::float8))
  AND (%(before_at)s::timestamptz IS NULL
       OR (updated_at, id) < (%(before_at)s::timestamptz, %(before_id)s::uuid))
ORDER BY updated_at DESC, id DESC
LIMIT %(limit)s;

-- console_failed_deliveries --
-- Webhook deliveries whose forwarding failed, newest first, without their bodies, after
-- the keyset (`before_at`, `before_id`) when given. (`status <> 'forwarded'` lets the
-- index of the deliveries not forwarded find them.)
SELECT id, signed, received_at, attempts, messages_forwarded, last_error, last_attempt_at
FROM webhook_deliveries
WHERE status = 'failed' AND status <> 'forwarded'
  AND (%(before_at)s::timestamptz IS NULL
       OR (received_at, id) < (%(before_at)s::timestamptz, %(before_id)s::bigint))
ORDER BY received_at DESC, id DESC
LIMIT %(limit)s;

-- console_rate_limits --
-- The accounts held by a Graph API rate limit now, and until when.
SELECT scoped_id, limited_until, error,
       ceil(extract(epoch FROM limited_until - now()))::bigint AS seconds_left
FROM graph_rate_limits
WHERE limited_until > now()
ORDER BY scoped_id;

-- console_activity --
-- Per minute over the last day: messages received, and DMs sent and failed (by the minute
-- the DM was created).
SELECT 'received' AS series, date_trunc('minute', created_at) AS minute, count(*) AS n
FROM messages
WHERE created_at > now() - interval '24 hours'
GROUP BY 2
UNION ALL
SELECT status, date_trunc('minute', created_at), count(*)
FROM outbound_messages
WHERE status IN ('sent', 'failed') AND created_at > now() - interval '24 hours'
GROUP BY 1, 2
ORDER BY 2, 1;
