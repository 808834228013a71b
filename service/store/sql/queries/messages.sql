-- messages_ingest --
-- Store inbound messages, note their senders' windows, defer a job for each new one and give
-- the new ones the edits that came before them, in one statement
-- (`ingest_messages_applying_edits_v1`, service/store/sql/functions.sql); returns the new
-- mids, NULL for none.
SELECT ingest_messages_applying_edits_v1(%(events)s::jsonb, %(queue)s, %(task)s) AS new_mids;

-- messages_lock_mids --
-- Before anything else in a transaction that stores messages and unsends, or an edit: lock
-- their mids against each other's (`messages_lock_mids_v1`), shared for the messages to
-- store, exclusive for unsends and edits.
SELECT messages_lock_mids_v1(%(shared)s::text[], %(exclusive)s::text[]);

-- messages_claim --
-- Lock a message for its decision, find the answered account it was sent to (for an echo,
-- the account that sent it; else `fallback`, the environment's account whose id is not
-- set, if answered), and, when the rules may answer it (an answered account, not decided,
-- not unsent, not an echo, not a standby message: `service.messages.decision.unanswered`),
-- find or create its sender's profile, of that account, whose row lock serialises one
-- sender's messages, so the checks of their recent DMs that follow see the previous one.
-- `connected_user_id` is NULL when the sender is unconnected or the profile was not
-- touched, `account_ig_id` when no answered account is the message's; no row when the
-- message is unknown.
WITH message AS (
    SELECT id, sender_ig_id, is_echo, source, processed, decided_at, deleted_at,
           CASE WHEN is_echo THEN sender_ig_id ELSE recipient_ig_id END AS to_account
    FROM messages
    WHERE id = %(mid)s
    FOR UPDATE
), account AS (
    SELECT a.ig_id AS account_ig_id
    FROM instagram_accounts a, message
    WHERE a.removed_at IS NULL AND a.ig_id IN (message.to_account, %(fallback)s)
    ORDER BY a.ig_id = message.to_account DESC
    LIMIT 1
), profile AS (
    INSERT INTO instagram_profiles (ig_id, account_ig_id)
    SELECT sender_ig_id, account.account_ig_id FROM message, account
    WHERE decided_at IS NULL AND deleted_at IS NULL AND NOT is_echo AND source <> 'standby'
    ON CONFLICT (ig_id) DO UPDATE
    SET updated_at = now(), account_ig_id = EXCLUDED.account_ig_id
    RETURNING connected_user_id
)
SELECT {MessageClaim}
FROM message LEFT JOIN account ON true LEFT JOIN profile ON true;

-- messages_record_decision --
-- Record a message's decision: the DM of `dm_kind` (none when NULL, or when the message
-- already has one of this kind), its Phase 3 row when `to_phase3` (once), and decided, with
-- `processed` when it went to Phase 3. Returns how long the message took from being stored
-- to being decided, and the DM's columns when it was created, else NULLs.
WITH dm AS (
    INSERT INTO outbound_messages (recipient_ig_id, kind, payload, message_id, account_ig_id)
    SELECT %(sender_ig_id)s, %(dm_kind)s, %(dm_payload)s, %(mid)s, %(account_ig_id)s
    WHERE %(dm_kind)s::text IS NOT NULL
    ON CONFLICT (message_id, kind) WHERE message_id IS NOT NULL DO NOTHING
    RETURNING {OutboundMessage}
), queued AS (
    INSERT INTO phase3_queue (message_id, ig_id, connected_user_id)
    SELECT %(mid)s, %(sender_ig_id)s, %(connected_user_id)s
    WHERE %(to_phase3)s
    ON CONFLICT (message_id, kind) DO NOTHING
), decided AS (
    UPDATE messages
    SET decided_at = now(), processed = processed OR %(to_phase3)s
    WHERE id = %(mid)s
    RETURNING extract(epoch FROM clock_timestamp() - created_at)::float8 AS latency_seconds
)
SELECT decided.latency_seconds, {dm.OutboundMessage}
FROM decided LEFT JOIN dm ON true;

-- messages_claim_many --
-- `messages_claim` for several messages at once (`mids`), in one statement: the messages
-- locked in mid order, then their senders' profiles found or created and locked in ig_id
-- order (each sender's once, of the account of its last message in `mids`), so two claims that
-- share messages or senders never wait on each other in a cycle. One row per message found.
WITH message AS (
    SELECT id, sender_ig_id, is_echo, source, processed, decided_at, deleted_at,
           CASE WHEN is_echo THEN sender_ig_id ELSE recipient_ig_id END AS to_account
    FROM messages
    WHERE id = ANY(%(mids)s::text[])
    ORDER BY id
    FOR UPDATE
), account AS (
    SELECT DISTINCT ON (message.id) message.id AS mid, a.ig_id AS account_ig_id
    FROM message JOIN instagram_accounts a
        ON a.removed_at IS NULL AND a.ig_id IN (message.to_account, %(fallback)s)
    ORDER BY message.id, a.ig_id = message.to_account DESC
), answerable AS (
    SELECT message.id, message.sender_ig_id, account.account_ig_id
    FROM message JOIN account ON account.mid = message.id
    WHERE decided_at IS NULL AND deleted_at IS NULL AND NOT is_echo AND source <> 'standby'
), profile AS (
    INSERT INTO instagram_profiles (ig_id, account_ig_id)
    SELECT DISTINCT ON (sender_ig_id) sender_ig_id, account_ig_id
    FROM answerable
    ORDER BY sender_ig_id, array_position(%(mids)s::text[], id) DESC
    ON CONFLICT (ig_id) DO UPDATE
    SET updated_at = now(), account_ig_id = EXCLUDED.account_ig_id
    RETURNING ig_id, connected_user_id
)
SELECT {MessageClaim}
FROM message
LEFT JOIN account ON account.mid = message.id
LEFT JOIN profile ON profile.ig_id = message.sender_ig_id
    AND EXISTS (SELECT 1 FROM answerable WHERE answerable.id = message.id);

-- messages_record_decisions --
-- `messages_record_decision` for several messages at once, one element of each array per
-- message, in the order they were decided: their DMs and Phase 3 rows are made in that
-- order. One row per message: its latency and its DM's columns (NULLs when none was made).
WITH decision AS (
    SELECT *
    FROM unnest(%(mids)s::text[], %(sender_ig_ids)s::text[], %(connected_user_ids)s::uuid[],
                %(dm_kinds)s::text[], %(dm_payloads)s::jsonb[], %(to_phase3)s::boolean[],
                %(account_ig_ids)s::text[])
         WITH ORDINALITY AS d(mid, sender_ig_id, connected_user_id, dm_kind, dm_payload,
                              to_phase3, account_ig_id, position)
), dm AS (
    INSERT INTO outbound_messages (recipient_ig_id, kind, payload, message_id, account_ig_id)
    SELECT sender_ig_id, dm_kind, dm_payload, mid, account_ig_id
    FROM decision
    WHERE dm_kind IS NOT NULL
    ORDER BY position
    ON CONFLICT (message_id, kind) WHERE message_id IS NOT NULL DO NOTHING
    RETURNING {OutboundMessage}
), queued AS (
    INSERT INTO phase3_queue (message_id, ig_id, connected_user_id)
    SELECT mid, sender_ig_id, connected_user_id
    FROM decision
    WHERE to_phase3
    ORDER BY position
    ON CONFLICT (message_id, kind) DO NOTHING
), decided AS (
    UPDATE messages m
    SET decided_at = now(), processed = m.processed OR decision.to_phase3
    FROM decision
    WHERE m.id = decision.mid
    RETURNING m.id AS mid,
              extract(epoch FROM clock_timestamp() - m.created_at)::float8 AS latency_seconds
)
SELECT decided.mid, decided.latency_seconds, {dm.OutboundMessage}
FROM decided LEFT JOIN dm ON dm.message_id = decided.mid;

-- messages_reopen --
-- Let a message's decision run again (`ingest replay`). What the first run produced
-- stays: the unique indexes keep a second run from adding a DM of a kind it already has
-- or a second Phase 3 row.
UPDATE messages
SET decided_at = NULL
WHERE id = %(mid)s
RETURNING id;

-- messages_release --
-- On connecting: hand to Phase 3 the messages the user sent while unconnected, within
-- `window_days` of now. Only decided ones: a message still waiting for its job is decided
-- by that job, which now finds the sender connected (and skipping it here keeps this
-- statement from waiting on a row lock that job holds while it waits on the profile's).
-- Echoes, standby and unsent messages never reach Phase 3. Returns how many were released.
WITH released AS (
    UPDATE messages
    SET processed = true
    WHERE sender_ig_id = %(ig_id)s
      AND NOT processed AND decided_at IS NOT NULL
      AND NOT is_echo AND source = 'messaging' AND deleted_at IS NULL
      AND "timestamp" >= now() - make_interval(days => %(window_days)s)
    RETURNING id, "timestamp"
), queued AS (
    INSERT INTO phase3_queue (message_id, ig_id, connected_user_id)
    SELECT id, %(ig_id)s, %(user_id)s FROM released ORDER BY "timestamp", id
    ON CONFLICT (message_id, kind) DO NOTHING
)
SELECT count(*)::integer AS released FROM released;

-- messages_unsend --
-- Clear an unsent message's content (what it shared included) and set `deleted_at`, once; returns the row when the
-- message is stored (`cleared` false when it was unsent before), no row when it is not.
WITH target AS (
    SELECT id, deleted_at FROM messages WHERE id = %(mid)s FOR UPDATE
), cleared AS (
    UPDATE messages m
    SET message_text = NULL, attachments = NULL, quick_reply = NULL, shared_items = '[]',
        deleted_at = now()
    FROM target
    WHERE m.id = target.id AND target.deleted_at IS NULL
    RETURNING m.id
)
SELECT target.id, EXISTS (SELECT 1 FROM cleared) AS cleared FROM target;

-- messages_remember_unsend --
-- The tombstone of a message unsent before it arrived: its row, without content, unsent and
-- already decided, so the message, arriving later, is a known mid and changes nothing.
-- Returns the mid when the row was made, no row when the mid is known after all.
INSERT INTO messages (id, sender_ig_id, recipient_ig_id, "timestamp", is_echo, source,
                      deleted_at, decided_at)
VALUES (%(mid)s, %(sender_ig_id)s, %(recipient_ig_id)s, %(timestamp)s, %(is_echo)s,
        %(source)s, now(), now())
ON CONFLICT (id) DO NOTHING
RETURNING id;

-- messages_edit --
-- Apply an edit to a stored message that was not unsent: its text becomes the edit's, unless
-- the message already had this edit or a later one (`num_edit` counts them), so a repeated
-- or late edit changes nothing. Returns the message's row (`applied` whether this edit
-- changed it); no row when the mid is unknown.
WITH target AS (
    SELECT id, edit_count, deleted_at FROM messages WHERE id = %(mid)s FOR UPDATE
), edited AS (
    UPDATE messages m
    SET message_text = %(message_text)s, edited_at = %(edited_at)s, edit_count = %(num_edit)s
    FROM target
    WHERE m.id = target.id AND target.deleted_at IS NULL AND target.edit_count < %(num_edit)s
    RETURNING m.id
)
SELECT target.id, target.deleted_at, EXISTS (SELECT 1 FROM edited) AS applied FROM target;

-- messages_media --
-- What a refresh of message `mid`'s media URLs reads: its attachments as received, what it
-- shared, and whether it was unsent or Meta no longer has it; no row when the mid is unknown.
SELECT id, recipient_ig_id, attachments, shared_items, deleted_at, media_refreshed_at,
       media_gone_at
FROM messages
WHERE id = %(mid)s;

-- messages_refresh_media --
-- Message `mid`'s shared items with fresh URLs, unless it was unsent meanwhile; returns the
-- time of the refresh, no row when nothing changed.
UPDATE messages
SET shared_items = %(shared_items)s, media_refreshed_at = now()
WHERE id = %(mid)s AND deleted_at IS NULL
RETURNING media_refreshed_at;

-- messages_media_gone --
-- Meta no longer has message `mid`: recorded, so it is not asked again.
UPDATE messages
SET media_gone_at = coalesce(media_gone_at, now())
WHERE id = %(mid)s;
