-- The current source of every function of ours in the schema, one place to read them.
-- The migrations remain the only source of the schema: this file is what they produce, and
-- tests/integration/test_schema_functions.py fails when the two differ, so a migration that
-- changes a function changes it here too. A function's name carries its version (`_v1`),
-- as procrastinate names its own: a change that callers must follow is a new function
-- beside the old (`_v2`), which a later migration drops once nothing calls it, so processes
-- of both versions run during an upgrade. The product's rules are not here: they are in
-- Python (service/messages/decision.py); these are a trigger's chores, one shared predicate
-- and the ingest's queue primitive.

-- Every table's `updated_at`, on each update (migration 0001).
CREATE OR REPLACE FUNCTION set_updated_at_v1() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

-- A NOTIFY for each new Phase 3 row, which consumers listen for (migration 0001).
CREATE OR REPLACE FUNCTION phase3_queue_notify_v1() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('phase3_queue', NEW.id::text);
    RETURN NEW;
END;
$$;

-- The one rule for a closed window, which the send, `ingest retry-failed` and the status
-- report share: we last heard from `recipient` longer than `window_length` ago. A recipient
-- never heard from is not refused (Meta decides), nor is a DM that answers a message
-- (`answers`) that reached us within the window, whatever time its sender wrote in it
-- (migration 0014).
CREATE OR REPLACE FUNCTION messaging_window_closed_v1(
    recipient text, answers text, window_length interval)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM instagram_profiles
        WHERE ig_id = recipient AND last_inbound_at < now() - window_length
    ) AND NOT EXISTS (
        SELECT 1 FROM messages WHERE id = answers AND created_at >= now() - window_length
    )
$$;

-- Accept inbound messages in one statement, for one message or a batch: each stored unless
-- its mid is known, its sender's messaging window noted (not for an echo, our own DM,
-- and for a known mid too, as before), and a job deferred for each new message, all or
-- nothing in one round trip. `events` is a JSON array of the messages as
-- `service.messages.inbound.InboundEvent` encodes them; a mid repeated in it counts once,
-- at its first place. Returns the new mids in the events' order (NULL when none).
--
-- The jobs are deferred through procrastinate's own function (its NOTIFY included), here
-- and nowhere else in our SQL, so an upgrade of procrastinate that changes it changes this
-- function only. Messages are inserted in mid order and profiles in ig_id order, so two
-- batches that share some never wait on each other in a cycle.
-- (Migration 0019.)
CREATE OR REPLACE FUNCTION ingest_messages_v1(events jsonb, queue_name text, task_name text)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
    new_mids text[];
BEGIN
    WITH incoming AS (
        SELECT e.*, t.position
        FROM jsonb_array_elements(events) WITH ORDINALITY AS t(event, position),
             jsonb_to_record(t.event) AS e(
                 mid text, sender_ig_id text, recipient_ig_id text, message_text text,
                 attachments jsonb, reply_to jsonb, quick_reply jsonb, is_echo boolean,
                 source text, postback_payload text, "timestamp" timestamptz)
    ), firsts AS (
        SELECT DISTINCT ON (mid) * FROM incoming ORDER BY mid, position
    ), inserted AS (
        INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, attachments,
                              reply_to, quick_reply, is_echo, source, postback_payload,
                              "timestamp")
        SELECT mid, sender_ig_id, recipient_ig_id, message_text, nullif(attachments, 'null'),
               nullif(reply_to, 'null'), nullif(quick_reply, 'null'), is_echo, source,
               postback_payload, "timestamp"
        FROM firsts
        ORDER BY mid
        ON CONFLICT (id) DO NOTHING
        RETURNING id
    )
    SELECT array_agg(inserted.id ORDER BY firsts.position) INTO new_mids
    FROM inserted JOIN firsts ON firsts.mid = inserted.id;

    -- As instagram_profiles_record_inbound: the later of what is known and the latest
    -- event, a time ahead of ours counting as now.
    INSERT INTO instagram_profiles (ig_id, last_inbound_at)
    SELECT e.sender_ig_id, least(max(e."timestamp"), now())
    FROM jsonb_to_recordset(events) AS e(sender_ig_id text, is_echo boolean,
                                         "timestamp" timestamptz)
    WHERE NOT e.is_echo
    GROUP BY e.sender_ig_id
    ORDER BY e.sender_ig_id
    ON CONFLICT (ig_id) DO UPDATE
    SET last_inbound_at = greatest(instagram_profiles.last_inbound_at,
                                   EXCLUDED.last_inbound_at);

    IF new_mids IS NOT NULL THEN
        PERFORM procrastinate_defer_jobs_v1(ARRAY(
            SELECT ROW(queue_name, task_name, 0, NULL, NULL, jsonb_build_object('mid', n.mid),
                       NULL)::procrastinate_job_to_defer_v1
            FROM unnest(new_mids) WITH ORDINALITY AS n(mid, position)
            ORDER BY n.position));
    END IF;
    RETURN new_mids;
END;
$$;
