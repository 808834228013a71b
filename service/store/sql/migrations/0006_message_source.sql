-- Where a message arrived: 'standby' when another app controlled the conversation (Meta's
-- handover protocol). Such a message is recorded, and only that app may answer it.
ALTER TABLE messages ADD COLUMN source text NOT NULL DEFAULT 'messaging'
    CHECK (source IN ('messaging', 'standby'));
