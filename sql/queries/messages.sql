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
-- Record that processing finished, and whether the message went to Phase 3.
UPDATE messages
SET handled_at = now(), processed = processed OR %(processed)s
WHERE id = %(mid)s;
