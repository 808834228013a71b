-- Edits that arrive before their message (Meta does not order its deliveries) wait in
-- `message_edits`; when the message is stored, it takes the text of the one with the highest
-- `num_edit`, as if they had come after it, so Phase 3 never gets the text from before an
-- edit. An edit of a message unsent first never waits here: the unsend's row stores the
-- message deleted, not new.
--
-- A message being stored, an edit and an unsend of the same mid may commit at the same time,
-- each unable to see what the other has not committed yet: the message would miss its edit,
-- or an edit would keep its text after the unsend cleared the others. So each takes a lock
-- on its mid first, held to its commit: messages shared (they never wait on each other),
-- edits and unsends exclusive. Mids are hashed into 256 locks, which bounds the locks a
-- batch of 1,000 holds; two mids that share one only wait on each other briefly. Every
-- transaction takes all of its locks in lock order before anything else, so they cannot
-- deadlock. The two-key form keeps them apart from the one-key locks of `ingest migrate`.
CREATE FUNCTION messages_lock_mids_v1(shared_mids text[], exclusive_mids text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lock record;
BEGIN
    FOR lock IN
        SELECT hashtext(mid) & 255 AS key, bool_or(exclusive) AS exclusive
        FROM (SELECT unnest(shared_mids), false
              UNION ALL SELECT unnest(exclusive_mids), true) AS m(mid, exclusive)
        GROUP BY 1
        ORDER BY 1
    LOOP
        IF lock.exclusive THEN
            PERFORM pg_advisory_xact_lock(72631140, lock.key);
        ELSE
            PERFORM pg_advisory_xact_lock_shared(72631140, lock.key);
        END IF;
    END LOOP;
END;
$$;

-- `ingest_messages_v1` (migration 0019, versioned by 0025), its mids locked first, its new
-- messages given the edits that waited for them, and a message that arrives after its unsend
-- cleared from its delivery (migration 0027); the same arguments and answer, the new mids.
CREATE FUNCTION ingest_messages_applying_edits_v1(events jsonb, queue_name text, task_name text)
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
    PERFORM webhook_deliveries_forget_message_v1(m.id)
    FROM messages m
    WHERE m.id IN (SELECT e ->> 'mid' FROM jsonb_array_elements(events) AS e)
      AND m.deleted_at IS NOT NULL AND m.id <> ALL (coalesce(new_mids, '{}'));
    RETURN new_mids;
END;
$$;
