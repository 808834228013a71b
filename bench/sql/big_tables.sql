-- fill_messages --
-- Rows %(first)s..%(last)s of %(total)s decided messages of the past, one every 0.25 s up
-- to now, with the shape of real ones: base64-like mids, 100 000 senders, a reel
-- attachment on one message in three.
INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, attachments, is_echo,
                      source, "timestamp", processed, decided_at, created_at, updated_at)
SELECT 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE' || encode(sha256(int8send(g)), 'base64'),
       (1254001234000000 + g %% 100000)::text,
       '17841400000000001',
       CASE WHEN g %% 3 = 0 THEN NULL ELSE 'Check this reel out! #' || g END,
       CASE WHEN g %% 3 = 0 THEN jsonb_build_array(jsonb_build_object(
           'type', 'ig_reel',
           'payload', jsonb_build_object(
               'reel_video_id', (18087782618000000 + g)::text,
               'url', 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=' || g)))
       END,
       false, 'messaging', at, g %% 2 = 0, at + interval '40 ms', at, at + interval '40 ms'
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g,
     LATERAL (SELECT now() - make_interval(secs => (%(total)s::bigint - g) * 0.25)) AS t(at);

-- fill_jobs --
-- Rows %(first)s..%(last)s of finished jobs as the service leaves them: one
-- decide_message and one send_outbound job per message, succeeded at their first attempt.
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args, status, attempts)
SELECT CASE WHEN g %% 2 = 0 THEN 'messages' ELSE 'outbound' END,
       CASE WHEN g %% 2 = 0 THEN 'decide_message' ELSE 'send_outbound' END,
       0,
       CASE WHEN g %% 2 = 0
            THEN jsonb_build_object('mid', 'aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE'
                                           || encode(sha256(int8send(g)), 'base64'))
            ELSE jsonb_build_object('outbound_id', md5(g::text)::uuid)
       END,
       'succeeded', 1
FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g;

-- vacuum_big_tables --
-- What autovacuum would have done to tables this size by now.
VACUUM ANALYZE messages, procrastinate_jobs;
