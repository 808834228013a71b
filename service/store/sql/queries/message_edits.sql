-- message_edits_insert --
-- Record an edit event once per (mid, num_edit); returns its id when it is new, no row for a
-- repeat.
INSERT INTO message_edits (message_id, num_edit, message_text, sender_ig_id, edited_at, applied)
VALUES (%(mid)s, %(num_edit)s, %(message_text)s, %(sender_ig_id)s, %(edited_at)s, %(applied)s)
ON CONFLICT (message_id, num_edit) DO NOTHING
RETURNING id;

-- message_edits_forget_text --
-- An unsend: forget the text of every edit of the message, as the message's own is cleared.
UPDATE message_edits SET message_text = NULL
WHERE message_id = %(mid)s AND message_text IS NOT NULL;
