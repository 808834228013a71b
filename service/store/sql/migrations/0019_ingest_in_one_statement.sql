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
CREATE FUNCTION ingest_messages(events jsonb, queue_name text, task_name text)
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
