-- Indexes that keep the status report cheap however long the history grows: each status
-- query reads what it reports, never a whole table (tests/integration/test_status_scale.py
-- checks their plans with 3M DMs and jobs). Built once, on deploy, in the migration's
-- transaction: a table takes no writes for the seconds its index takes.

-- The latest failed DMs, newest failure first (status_outbound_failed).
CREATE INDEX outbound_messages_failed ON outbound_messages (updated_at) WHERE status = 'failed';

-- The jobs that finished within the window (status_jobs): procrastinate_jobs has no time
-- of its own, its events say when.
CREATE INDEX procrastinate_events_finished ON procrastinate_events (at)
    WHERE type IN ('succeeded', 'failed', 'cancelled', 'aborted');

-- The Phase 3 backlog by status, with its oldest row (status_phase3), apart from the done
-- rows that retention keeps for a month.
CREATE INDEX phase3_queue_not_done ON phase3_queue (status, created_at) WHERE status <> 'done';
