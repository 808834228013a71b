-- The decision of an inbound message's processing in one statement, so that the worker
-- pays one round trip for it instead of a transaction of four or more. It locks the
-- message and, when the message is to be answered, finds or creates its sender's profile,
-- whose row lock serialises one sender's messages (the anti-spam checks below see the
-- previous one). Then, by what it finds:
--   `missing`: the mid is unknown;
--   `already_decided`: nothing changes;
--   `echo`, `standby`, `unsent`: handled, never answered (an echo is our own DM mirrored
--   back, a standby message belongs to the app that controls the conversation);
--   `acknowledged`: a connected sender's message gets its acknowledgement DM (none when it
--   already has one, or the sender had one within `cooldown_seconds`), its Phase 3 row
--   (once: none when the message was already `processed`, whose row retention may have
--   deleted since; none for a postback, which holds no reel or post) and handled, with
--   `processed` when it went to Phase 3;
--   `unconnected`: the sender is not connected and no `verification_payload` was given:
--   nothing changes; the caller, which learns the sender (`sender_ig_id`) only here, asks
--   again with the verification DM's payload, whose text names the sender;
--   `verification_suppressed`: a verification DM to the sender is under way, or was sent
--   within `verification_resend_seconds` with a token still usable: handled, no DM;
--   `verification_queued`: the verification DM and handled.
-- One row per DM the message still owes (the one created now, else those still pending,
-- as a replayed message may find its DM of this kind already there), or one row with NULL
-- DM columns when there is none. `latency_seconds` is how long the message took from being
-- stored to being handled, NULL when this call did not handle it.
CREATE FUNCTION messages_decide(
    mid text,
    acknowledgement_payload jsonb,
    cooldown_seconds float8,
    verification_payload jsonb,
    verification_resend_seconds float8
) RETURNS TABLE (
    outcome text,
    latency_seconds float8,
    sender_ig_id text,
    id uuid,
    recipient_ig_id text,
    kind text,
    payload jsonb,
    status text,
    attempts integer,
    retry_base integer,
    remote_message_id text,
    error text,
    message_id text,
    sending_attempt_id uuid,
    sending_started_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    msg record;
    connected_user uuid;
    decided text;
    latency float8;
    dm outbound_messages%ROWTYPE;
BEGIN
    SELECT m.id, m.sender_ig_id, m.is_echo, m.source, m.processed, m.handled_at, m.deleted_at
    INTO msg
    FROM messages m
    WHERE m.id = messages_decide.mid
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'missing'::text, NULL::float8, NULL::text, NULL::uuid, NULL::text,
            NULL::text, NULL::jsonb, NULL::text, NULL::integer, NULL::integer, NULL::text,
            NULL::text, NULL::text, NULL::uuid, NULL::timestamptz;
        RETURN;
    END IF;

    IF msg.handled_at IS NOT NULL THEN
        decided := 'already_decided';
    ELSIF msg.is_echo OR msg.source = 'standby' OR msg.deleted_at IS NOT NULL THEN
        decided := CASE WHEN msg.deleted_at IS NOT NULL THEN 'unsent'
                        WHEN msg.is_echo THEN 'echo'
                        ELSE 'standby' END;
        UPDATE messages m SET handled_at = now()
        WHERE m.id = msg.id
        RETURNING extract(epoch FROM clock_timestamp() - m.created_at)::float8 INTO latency;
    ELSE
        INSERT INTO instagram_profiles AS p (ig_id) VALUES (msg.sender_ig_id)
        ON CONFLICT (ig_id) DO UPDATE SET updated_at = now()
        RETURNING p.connected_user_id INTO connected_user;
        IF connected_user IS NOT NULL THEN
            decided := 'acknowledged';
            INSERT INTO outbound_messages AS o (recipient_ig_id, kind, payload, message_id)
            SELECT msg.sender_ig_id, 'acknowledgement', acknowledgement_payload, msg.id
            WHERE cooldown_seconds <= 0
               OR NOT EXISTS (
                   SELECT 1 FROM outbound_messages r
                   WHERE r.recipient_ig_id = msg.sender_ig_id AND r.kind = 'acknowledgement'
                     AND r.created_at > now() - make_interval(secs => cooldown_seconds))
            ON CONFLICT (message_id, kind) WHERE message_id IS NOT NULL DO NOTHING
            RETURNING o.* INTO dm;
            IF msg.source <> 'postback' AND NOT msg.processed THEN
                INSERT INTO phase3_queue (message_id, ig_id, connected_user_id)
                VALUES (msg.id, msg.sender_ig_id, connected_user)
                ON CONFLICT (message_id, kind) DO NOTHING;
            END IF;
            UPDATE messages m
            SET handled_at = now(), processed = m.processed OR msg.source <> 'postback'
            WHERE m.id = msg.id
            RETURNING extract(epoch FROM clock_timestamp() - m.created_at)::float8 INTO latency;
        ELSIF verification_payload IS NULL THEN
            RETURN QUERY SELECT 'unconnected'::text, NULL::float8, msg.sender_ig_id,
                NULL::uuid, NULL::text, NULL::text, NULL::jsonb, NULL::text, NULL::integer,
                NULL::integer, NULL::text, NULL::text, NULL::text, NULL::uuid,
                NULL::timestamptz;
            RETURN;
        ELSE
            IF EXISTS (
                SELECT 1
                FROM outbound_messages o
                LEFT JOIN verification_tokens t ON t.created_by_event_id = o.message_id
                WHERE o.recipient_ig_id = msg.sender_ig_id
                  AND o.kind = 'verification'
                  AND o.created_at > now() - make_interval(secs => verification_resend_seconds)
                  AND (o.status = 'pending'
                       OR (o.status = 'sent' AND t.token_hash IS NOT NULL
                           AND NOT t.consumed AND t.expires_at > now()))
            ) THEN
                decided := 'verification_suppressed';
            ELSE
                decided := 'verification_queued';
                INSERT INTO outbound_messages AS o (recipient_ig_id, kind, payload, message_id)
                VALUES (msg.sender_ig_id, 'verification', verification_payload, msg.id)
                ON CONFLICT (message_id, kind) WHERE message_id IS NOT NULL DO NOTHING
                RETURNING o.* INTO dm;
            END IF;
            UPDATE messages m SET handled_at = now()
            WHERE m.id = msg.id
            RETURNING extract(epoch FROM clock_timestamp() - m.created_at)::float8 INTO latency;
        END IF;
    END IF;

    IF dm.id IS NOT NULL THEN
        RETURN QUERY SELECT decided, latency, msg.sender_ig_id, dm.id, dm.recipient_ig_id,
            dm.kind, dm.payload, dm.status, dm.attempts, dm.retry_base, dm.remote_message_id,
            dm.error, dm.message_id, dm.sending_attempt_id, dm.sending_started_at;
    ELSIF decided IN ('echo', 'standby', 'unsent') THEN
        RETURN QUERY SELECT decided, latency, msg.sender_ig_id, NULL::uuid, NULL::text,
            NULL::text, NULL::jsonb, NULL::text, NULL::integer, NULL::integer, NULL::text,
            NULL::text, NULL::text, NULL::uuid, NULL::timestamptz;
    ELSE
        RETURN QUERY
        SELECT decided, latency, msg.sender_ig_id, owed.id, owed.recipient_ig_id, owed.kind,
               owed.payload, owed.status, owed.attempts, owed.retry_base,
               owed.remote_message_id, owed.error, owed.message_id, owed.sending_attempt_id,
               owed.sending_started_at
        FROM (SELECT true) one
        LEFT JOIN LATERAL (
            SELECT o.* FROM outbound_messages o
            WHERE o.message_id = msg.id AND o.status = 'pending'
        ) owed ON true
        ORDER BY owed.created_at;
    END IF;
END;
$$;
