-- What a message shared, typed for Phase 3: one entry per thing shared, `{kind, media_id,
-- url, title, type}`, computed from the attachments as Meta sent them (which stay as they
-- are) by `service.store.shared_items`, once, as the message is stored; an empty list for a
-- message that shared nothing, and for an unsent one.
ALTER TABLE messages ADD COLUMN shared_items jsonb NOT NULL DEFAULT '[]';

-- The messages stored before, by the same rules as `service.store.shared_items`, written
-- once here for them: a post Meta sent as both `share` and `ig_post` is one entry.
WITH attachment AS (
    SELECT m.id, a.position, a.value, a.value ->> 'type' AS meta_type,
           CASE a.value ->> 'type'
               WHEN 'ig_reel' THEN 'reel' WHEN 'reel' THEN 'reel'
               WHEN 'ig_post' THEN 'post' WHEN 'share' THEN 'post'
               WHEN 'ig_story' THEN 'story' WHEN 'story_mention' THEN 'story_mention'
               WHEN 'image' THEN 'image' WHEN 'video' THEN 'video'
               WHEN 'audio' THEN 'audio' WHEN 'file' THEN 'file'
               ELSE 'other'
           END AS kind,
           CASE WHEN jsonb_typeof(a.value -> 'payload') = 'object'
                THEN a.value -> 'payload' END AS payload
    FROM messages m,
         jsonb_array_elements(CASE jsonb_typeof(m.attachments)
                                  WHEN 'array' THEN m.attachments
                                  WHEN 'object' THEN jsonb_build_array(m.attachments)
                              END) WITH ORDINALITY AS a(value, position)
    WHERE m.deleted_at IS NULL
), item AS (
    SELECT id, position, meta_type,
           kind,
           CASE WHEN jsonb_typeof(value -> 'type') = 'string' THEN meta_type END AS type,
           CASE kind
               WHEN 'reel' THEN payload -> 'reel_video_id'
               WHEN 'post' THEN payload -> 'ig_post_media_id'
               WHEN 'story' THEN payload -> 'id'
               WHEN 'story_mention' THEN payload -> 'id'
           END AS media_id,
           CASE WHEN kind <> 'other' THEN payload -> 'url' END AS url,
           CASE WHEN kind <> 'other' THEN payload -> 'title' END AS title
    FROM attachment
), readable AS (
    -- Strings as they are, numbers as their digits, anything else null.
    SELECT id, position, meta_type, kind, CASE WHEN kind = 'other' THEN type END AS type,
           CASE jsonb_typeof(media_id) WHEN 'string' THEN media_id #>> '{}'
                WHEN 'number' THEN media_id::text END AS media_id,
           CASE jsonb_typeof(url) WHEN 'string' THEN url #>> '{}'
                WHEN 'number' THEN url::text END AS url,
           CASE jsonb_typeof(title) WHEN 'string' THEN title #>> '{}'
                WHEN 'number' THEN title::text END AS title
    FROM item
), kept AS (
    SELECT * FROM readable share
    WHERE NOT (share.meta_type = 'share' AND EXISTS (
        SELECT 1 FROM readable post
        WHERE post.id = share.id AND post.meta_type = 'ig_post'
          AND CASE WHEN share.media_id IS NOT NULL THEN share.media_id = post.media_id
                   ELSE share.url IS NOT NULL AND share.url = post.url END))
)
UPDATE messages m
SET shared_items = items.shared_items
FROM (
    SELECT id, jsonb_agg(jsonb_build_object('kind', kind, 'media_id', media_id, 'url', url,
                                            'title', title, 'type', type)
                         ORDER BY position) AS shared_items
    FROM kept
    GROUP BY id
) items
WHERE m.id = items.id;

-- `ingest_messages_v1` (migration 0019) stores the messages' `shared_items` too, as
-- `service.store.inbound_event.InboundEvent` encodes them; the rest is as it was. A caller
-- need not follow: an event without `shared_items` (from a process older than this
-- migration, during an upgrade) is stored with `[]`, as before, hence no `_v2`.
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
                 source text, postback_payload text, "timestamp" timestamptz,
                 shared_items jsonb)
    ), firsts AS (
        SELECT DISTINCT ON (mid) * FROM incoming ORDER BY mid, position
    ), inserted AS (
        INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, attachments,
                              reply_to, quick_reply, is_echo, source, postback_payload,
                              "timestamp", shared_items)
        SELECT mid, sender_ig_id, recipient_ig_id, message_text, nullif(attachments, 'null'),
               nullif(reply_to, 'null'), nullif(quick_reply, 'null'), is_echo, source,
               postback_payload, "timestamp", coalesce(shared_items, '[]')
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
