-- Operations: a DM re-queued by an operator (`ingest retry-failed`) gets a fresh retry
-- budget while `attempts` keeps counting every Graph API call. `retry_base` is what
-- `attempts` was at the last re-queue, so the send's retry limit counts only the calls
-- since; `requeued_at` tells when that was.
ALTER TABLE outbound_messages
    ADD COLUMN retry_base integer NOT NULL DEFAULT 0 CHECK (retry_base >= 0),
    ADD COLUMN requeued_at timestamptz;
