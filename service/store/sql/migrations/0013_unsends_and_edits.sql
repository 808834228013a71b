-- Unsends and edits (Meta's `is_deleted` and `message_edit`).
--
-- An unsent message keeps its row, so its mid stays known, with its content cleared and
-- `deleted_at` set. An unsend that arrives before its message makes that row itself (no
-- content, `deleted_at` set, already handled): the tombstone that the message, arriving
-- later, finds by its mid, so it is stored deleted and never processed.
ALTER TABLE messages
    ADD COLUMN deleted_at timestamptz,
    ADD COLUMN edited_at timestamptz,
    ADD COLUMN edit_count integer NOT NULL DEFAULT 0 CHECK (edit_count >= 0);

-- Phase 3 rows come in two kinds: a message to work on, and the notice that a message a
-- consumer may already have worked on was unsent. A message row not yet worked on is
-- `withdrawn` instead, and never handed out. A message now has up to two rows, so the unique
-- key is (message_id, kind): processes still running the statements of before this
-- migration fail to queue Phase 3 rows (their ON CONFLICT names the key dropped here), and
-- their jobs are retried with backoff, for about a quarter of an hour, until new workers
-- run them; so replace the workers soon after the release.
ALTER TABLE phase3_queue
    ADD COLUMN kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'deletion')),
    DROP CONSTRAINT phase3_queue_status_check,
    ADD CONSTRAINT phase3_queue_status_check
        CHECK (status IN ('queued', 'claimed', 'done', 'failed', 'withdrawn')),
    DROP CONSTRAINT phase3_queue_message_id_key;
CREATE UNIQUE INDEX phase3_queue_message_kind ON phase3_queue (message_id, kind);
-- Retention deletes withdrawn rows as it does done ones (`completed_at` is when).
DROP INDEX phase3_queue_completed;
CREATE INDEX phase3_queue_finished ON phase3_queue (completed_at)
    WHERE status IN ('done', 'withdrawn');

-- Every edit event as received, once per (mid, num_edit): an edit of a message not stored
-- (yet) is kept here, and an edit that names no sender, which cannot be tied to anyone, is
-- counted by the status report.
CREATE TABLE message_edits (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id text NOT NULL CHECK (message_id <> ''),
    num_edit integer NOT NULL CHECK (num_edit >= 0),
    message_text text,
    sender_ig_id text,
    edited_at timestamptz NOT NULL,
    applied boolean NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (message_id, num_edit)
);
CREATE INDEX message_edits_senderless ON message_edits (received_at) WHERE sender_ig_id IS NULL;

ALTER TABLE message_edits ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON message_edits FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;
