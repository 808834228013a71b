-- Storing a delivery cost more than its messages on every delivery, and more as the tables
-- grew: it looked for messages unsent before they came, and for edits that came before their
-- message, with queries the planner could answer by reading the whole `messages` table. Both
-- are rare, so each now runs only when it can find something: edits only when one waits for
-- a new message (the small `message_edits` table, by its index), unsent messages only when
-- some mid of the delivery was stored before, and then by primary key. Nothing else changes.
CREATE OR REPLACE FUNCTION ingest_messages_applying_edits_v1(events jsonb, queue_name text, task_name text)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    mids text[] := ARRAY(SELECT e ->> 'mid' FROM jsonb_array_elements(events) AS e);
    new_mids text[];
BEGIN
    PERFORM messages_lock_mids_v1(mids, '{}');
    new_mids := ingest_messages_v1(events, queue_name, task_name);
    -- Most deliveries find no edit waiting for their messages.
    IF EXISTS (SELECT 1 FROM message_edits WHERE message_id = ANY (new_mids)) THEN
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
    END IF;
    -- A message unsent before it came: its delivery, stored already, keeps no text of it.
    -- Only a mid stored before this delivery can be one.
    IF cardinality(mids) > coalesce(cardinality(new_mids), 0) THEN
        PERFORM webhook_deliveries_forget_message_v1(m.id)
        FROM messages m
        WHERE m.id = ANY (mids)
          AND m.deleted_at IS NOT NULL AND m.id <> ALL (coalesce(new_mids, '{}'));
    END IF;
    RETURN new_mids;
END;
$$;
