-- Reconciling with the Conversations API (`service.reconcile`): a message that Meta never
-- delivered, found by asking which conversations changed, is stored as 'reconciled'.
ALTER TABLE messages DROP CONSTRAINT messages_source_check;
ALTER TABLE messages ADD CONSTRAINT messages_source_check
    CHECK (source IN ('messaging', 'standby', 'postback', 'reconciled'));

-- The rule for a closed window (migrations 0014, 0025), where a DM that answers a message
-- stored within the window is sent whatever time its sender wrote in it: a delivery reached
-- us then. A reconciled message did not reach us when found, often hours later: its window
-- opened when it was sent, its `timestamp` (Meta's `created_time`). Replaced in place: the
-- callers pass the same arguments, and only this release stores reconciled messages.
CREATE OR REPLACE FUNCTION messaging_window_closed_v1(
    recipient text, answers text, window_length interval)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM instagram_profiles
        WHERE ig_id = recipient AND last_inbound_at < now() - window_length
    ) AND NOT EXISTS (
        SELECT 1 FROM messages
        WHERE id = answers
          AND CASE WHEN source = 'reconciled' THEN "timestamp" ELSE created_at END
              >= now() - window_length
    )
$$;

-- One row per run: where it started from (`since`, conversations updated after it), and,
-- once it completed (`finished_at`), what it found. The next run starts from the last
-- completed one's `started_at`, so a run killed half-way (never finished) is read again.
-- `gap_conversations`: the conversations where messages were lost for good (more than the
-- 20 the API gives changed since, or a message answered as deleted).
CREATE TABLE reconcile_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id text NOT NULL,
    trigger text NOT NULL,
    since timestamptz NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    conversations integer NOT NULL DEFAULT 0,
    messages_seen integer NOT NULL DEFAULT 0,
    already_stored integer NOT NULL DEFAULT 0,
    recovered integer NOT NULL DEFAULT 0,
    gaps integer NOT NULL DEFAULT 0,
    calls integer NOT NULL DEFAULT 0,
    gap_conversations text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX reconcile_runs_completed ON reconcile_runs (account_id, started_at DESC)
    WHERE finished_at IS NOT NULL;

ALTER TABLE reconcile_runs ENABLE ROW LEVEL SECURITY;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        CREATE POLICY service_role_all ON reconcile_runs FOR ALL TO service_role
            USING (true) WITH CHECK (true);
    END IF;
END;
$$;

-- A run asks, for each message of a conversation, whether the service has it: a message
-- it stored, or a DM it sent, which Meta lists in the same conversation.
CREATE INDEX outbound_messages_remote_message_id ON outbound_messages (remote_message_id)
    WHERE remote_message_id IS NOT NULL;
