-- Storing a delivery looked for messages unsent before they came with a subquery over the
-- delivery's mids, which the planner answered by reading the whole `messages` table: a cost
-- on every delivery that grew with the table. The mids are now an array that the primary key
-- answers. Nothing else changes.
CREATE OR REPLACE FUNCTION ingest_messages_applying_edits_v1(events jsonb, queue_name text, task_name text)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    new_mids text[];
BEGIN
    PERFORM messages_lock_mids_v1(
        ARRAY(SELECT e ->> 'mid' FROM jsonb_array_elements(events) AS e), '{}');
    new_mids := ingest_messages_v1(events, queue_name, task_name);
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
    -- A message unsent before it came: its delivery, stored already, keeps no text of it.
    -- The mids as an array, which the primary key answers: a subquery here let the planner
    -- read the whole table on each delivery.
    PERFORM webhook_deliveries_forget_message_v1(m.id)
    FROM messages m
    WHERE m.id = ANY (ARRAY(SELECT e ->> 'mid' FROM jsonb_array_elements(events) AS e))
      AND m.deleted_at IS NOT NULL AND m.id <> ALL (coalesce(new_mids, '{}'));
    RETURN new_mids;
END;
$$;
