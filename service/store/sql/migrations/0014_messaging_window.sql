-- Meta's standard messaging window: a business may message a user only within 24 hours of
-- the user's last inbound event (a message, a story reply or mention, a postback, a
-- referral; not a read, a reaction or an echo). `last_inbound_at` is the latest such event.
ALTER TABLE instagram_profiles ADD COLUMN last_inbound_at timestamptz;

-- What the messages already stored say, so that an upgraded service knows the windows at once.
UPDATE instagram_profiles p
SET last_inbound_at = m.latest
FROM (
    SELECT sender_ig_id, max(least("timestamp", created_at)) AS latest
    FROM messages
    WHERE NOT is_echo
    GROUP BY sender_ig_id
) m
WHERE p.ig_id = m.sender_ig_id;

-- The one rule for a closed window, which the send, `ingest retry-failed` and the status
-- report share: we last heard from `recipient` longer than `window_length` ago. A recipient
-- never heard from is not refused (Meta decides), nor is a DM that answers a message
-- (`answers`) that reached us within the window, whatever time its sender wrote in it.
CREATE FUNCTION messaging_window_closed(recipient text, answers text, window_length interval)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM instagram_profiles
        WHERE ig_id = recipient AND last_inbound_at < now() - window_length
    ) AND NOT EXISTS (
        SELECT 1 FROM messages WHERE id = answers AND created_at >= now() - window_length
    )
$$;

-- A postback (an ice breaker or a button tap) is stored as a message: its title as the
-- text, its payload here.
ALTER TABLE messages ADD COLUMN postback_payload text;
ALTER TABLE messages DROP CONSTRAINT messages_source_check;
ALTER TABLE messages ADD CONSTRAINT messages_source_check
    CHECK (source IN ('messaging', 'standby', 'postback'));
