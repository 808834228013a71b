-- message_insert --
-- Insert an inbound message unless its mid is already known; returns the mid only when new.
INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, attachments,
                      reply_to, quick_reply, is_echo, source, "timestamp")
VALUES (%(mid)s, %(sender_ig_id)s, %(recipient_ig_id)s, %(message_text)s, %(attachments)s,
        %(reply_to)s, %(quick_reply)s, %(is_echo)s, %(source)s, %(timestamp)s)
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- message_get_for_update --
-- Load one message and lock it, so that two runs of its processing serialise.
SELECT id, sender_ig_id, recipient_ig_id, message_text, attachments, is_echo, source,
       "timestamp", processed, handled_at
FROM messages
WHERE id = %(mid)s
FOR UPDATE;

-- message_mark_handled --
-- Record that processing finished, and whether the message went to Phase 3; returns
-- how long the message took from being stored to this point.
UPDATE messages
SET handled_at = now(), processed = processed OR %(processed)s
WHERE id = %(mid)s
RETURNING extract(epoch FROM clock_timestamp() - created_at)::float8 AS latency_seconds;

-- message_reopen --
-- Let a message's processing run again (`ingest replay`). What the first run produced
-- stays: the unique indexes keep a second run from adding a DM of a kind it already has
-- or a second Phase 3 row.
UPDATE messages
SET handled_at = NULL
WHERE id = %(mid)s
RETURNING id;
