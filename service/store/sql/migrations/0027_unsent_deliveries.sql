-- An unsent message leaves no copy of its text behind, the stored webhook deliveries
-- included: those that carried the message or an edit of it keep the items, with the mid,
-- but not the text, attachments or quick reply (as `messages_unsend` clears the message), nor
-- an edit's text. `webhook_deliveries_forget_message_v1` clears them when the unsend is stored,
-- and when the message or an edit of it arrives after it.

-- One messaging item (`messaging`, `standby`, or the `value` of a `changes` item) without
-- the content of message `mid`; any other item as it is.
CREATE FUNCTION webhook_item_without_message_v1(item jsonb, mid text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF item -> 'message' ->> 'mid' = mid THEN
        RETURN jsonb_set(item, '{message}',
                         (item -> 'message') - ARRAY['text', 'attachments', 'quick_reply']);
    ELSIF item -> 'message_edit' ->> 'mid' = mid THEN
        RETURN jsonb_set(item, '{message_edit}', (item -> 'message_edit') - 'text');
    ELSIF jsonb_typeof(item -> 'value') = 'object' THEN
        RETURN jsonb_set(item, '{value}', webhook_item_without_message_v1(item -> 'value', mid));
    END IF;
    RETURN item;
END;
$$;

-- A delivery's body without the content of message `mid`, its shape otherwise unchanged.
CREATE FUNCTION webhook_body_without_message_v1(body jsonb, mid text)
RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    entries jsonb := '[]';
    entry jsonb;
    list text;
BEGIN
    IF jsonb_typeof(body -> 'entry') IS DISTINCT FROM 'array' THEN
        RETURN body;
    END IF;
    FOR entry IN SELECT e FROM jsonb_array_elements(body -> 'entry') WITH ORDINALITY AS t(e, n)
                 ORDER BY n LOOP
        FOREACH list IN ARRAY ARRAY['messaging', 'standby', 'changes'] LOOP
            IF jsonb_typeof(entry -> list) = 'array' THEN
                entry := jsonb_set(entry, ARRAY[list], (
                    SELECT coalesce(jsonb_agg(webhook_item_without_message_v1(i, mid) ORDER BY n),
                                    '[]')
                    FROM jsonb_array_elements(entry -> list) WITH ORDINALITY AS t(i, n)));
            END IF;
        END LOOP;
        entries := entries || jsonb_build_array(entry);
    END LOOP;
    RETURN jsonb_set(body, '{entry}', entries);
END;
$$;

-- Clear message `mid`'s content from every stored delivery that carried it, as a message or
-- an edit, in `messaging`, `standby` or `changes`: each shape a containment the body's index
-- (migration 0016) answers.
CREATE FUNCTION webhook_deliveries_forget_message_v1(mid text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    wanted jsonb;
    list text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY[jsonb_build_object('message', jsonb_build_object('mid', mid)),
                                  jsonb_build_object('message_edit', jsonb_build_object('mid', mid))]
    LOOP
        FOREACH list IN ARRAY ARRAY['messaging', 'standby', 'changes'] LOOP
            UPDATE webhook_deliveries
            SET body = webhook_body_without_message_v1(body, mid)
            WHERE body @> jsonb_build_object('entry', jsonb_build_array(jsonb_build_object(
                      list, jsonb_build_array(CASE WHEN list = 'changes'
                                                   THEN jsonb_build_object('value', wanted)
                                                   ELSE wanted END))))
              AND webhook_body_without_message_v1(body, mid) <> body;
        END LOOP;
    END LOOP;
END;
$$;
