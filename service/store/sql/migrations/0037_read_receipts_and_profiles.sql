-- When the recipient read a DM of ours, from Meta's read receipts (`read`, the
-- `messaging_seen` field): a receipt names the last message read, and marks every DM sent
-- to that user up to it (`outbound_messages_record_read`).
ALTER TABLE outbound_messages ADD COLUMN read_at timestamptz;
