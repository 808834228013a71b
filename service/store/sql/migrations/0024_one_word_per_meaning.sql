-- One word per meaning. A message is *decided* (service/messages/decision.py: answered, or
-- recorded as never to be answered) by its `decide_message` job; it is *processed* when it
-- is handed to Phase 3, the spec's word, kept. A webhook delivery's forward is *attempted*.
ALTER TABLE messages RENAME COLUMN handled_at TO decided_at;
ALTER INDEX messages_unhandled RENAME TO messages_undecided;
COMMENT ON COLUMN messages.decided_at IS
    'When the message was decided (answered, or recorded as never to be answered); NULL '
    'while its decide_message job has yet to run.';
COMMENT ON COLUMN messages.processed IS
    'Handed to Phase 3 (the spec''s word): its phase3_queue row was made, on its decision '
    'for a connected sender or, for a message sent before connecting, on connecting.';

ALTER TABLE webhook_deliveries RENAME COLUMN processed_at TO last_attempt_at;
COMMENT ON COLUMN webhook_deliveries.last_attempt_at IS
    'When the last forwarding attempt was recorded, whatever its outcome.';

-- The decision's job was `process_message` until now: jobs kept from before (and jobs that
-- a web process not yet upgraded defers) keep that name, and the worker runs them by it as
-- an alias, so a message's jobs are found by either name.
DROP INDEX procrastinate_jobs_message;
CREATE INDEX procrastinate_jobs_message ON procrastinate_jobs ((args ->> 'mid'))
    WHERE task_name IN ('decide_message', 'process_message');
