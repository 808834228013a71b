-- Edits that arrive before their message (Meta does not order its deliveries) wait in
-- `message_edits`; when the message is stored, it takes the text of the one with the highest
-- `num_edit`, as if they had come after it, so Phase 3 never gets the text from before an
-- edit. `messages_ingest` calls this on what `ingest_messages` returns, the mids it stored
-- just now, in the same statement; it returns them unchanged. An edit of a message unsent
-- first never waits here: the unsend's row stores the message deleted, not new.
CREATE FUNCTION messages_apply_waiting_edits(new_mids text[])
RETURNS text[] LANGUAGE plpgsql AS $$
BEGIN
    WITH latest AS (
        SELECT DISTINCT ON (message_id) id, message_id, num_edit, message_text, edited_at
        FROM message_edits
        WHERE message_id = ANY (new_mids)
        ORDER BY message_id, num_edit DESC
    ), edited AS (
        -- As `messages_edit`: only an edit counted higher than what the message has.
        UPDATE messages m
        SET message_text = latest.message_text, edited_at = latest.edited_at,
            edit_count = latest.num_edit
        FROM latest
        WHERE m.id = latest.message_id AND m.edit_count < latest.num_edit
              AND m.deleted_at IS NULL
        RETURNING latest.id
    )
    UPDATE message_edits SET applied = true FROM edited WHERE message_edits.id = edited.id;
    RETURN new_mids;
END;
$$;
