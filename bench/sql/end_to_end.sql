-- end_to_end_progress --
-- How far the messages are: processed (handed to Phase 3), Phase 3 rows, sent DMs.
SELECT (SELECT count(*) FROM messages WHERE processed) AS processed,
       (SELECT count(*) FROM phase3_queue) AS phase3_rows,
       (SELECT count(*) FROM outbound_messages WHERE status = 'sent') AS sent;

-- end_to_end_unfinished --
-- Messages that lack any part of the end-to-end outcome: processed, a sent DM, a Phase 3 row.
SELECT count(*) AS n
FROM messages m
WHERE NOT m.processed
   OR NOT EXISTS (SELECT 1 FROM outbound_messages o
                  WHERE o.message_id = m.id AND o.status = 'sent')
   OR NOT EXISTS (SELECT 1 FROM phase3_queue p WHERE p.message_id = m.id);

-- jobs_succeeded --
-- How many jobs of a queue have succeeded (the no-op baseline's progress).
SELECT count(*) AS succeeded FROM procrastinate_jobs
WHERE queue_name = %(queue)s AND status = 'succeeded';

-- first_job_started --
-- When the first job was started: the drain's clock starts there, after process start-up.
SELECT extract(epoch FROM min(at))::float8 AS at FROM procrastinate_events
WHERE type = 'started';

-- first_message_stored --
-- When the first message was stored (epoch seconds): figure 11's clock starts there.
SELECT extract(epoch FROM min(created_at))::float8 AS at FROM messages;

-- messages_stored_by_account --
-- When each message was stored (epoch seconds), and the account it was sent to.
SELECT recipient_ig_id AS account, extract(epoch FROM created_at)::float8 AS at FROM messages;
