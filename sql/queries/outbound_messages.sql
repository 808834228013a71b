-- outbound_message_insert --
-- Record a DM to send; for an event's DM, a second insert of the same kind does nothing.
INSERT INTO outbound_messages (recipient_ig_id, kind, payload, message_id)
VALUES (%(recipient_ig_id)s, %(kind)s, %(payload)s, %(message_id)s)
ON CONFLICT (message_id, kind) WHERE message_id IS NOT NULL DO NOTHING
RETURNING id, recipient_ig_id, kind, payload, status, attempts, retry_base,
          remote_message_id, error, message_id;

-- outbound_message_get --
-- One DM's row.
SELECT id, recipient_ig_id, kind, payload, status, attempts, retry_base, remote_message_id,
       error, message_id, requeued_at, created_at, updated_at
FROM outbound_messages
WHERE id = %(id)s;

-- outbound_message_record_attempt --
-- Record the outcome of a send: `calls` Graph API calls made (0 when none was needed).
UPDATE outbound_messages
SET attempts = attempts + %(calls)s,
    status = %(status)s,
    remote_message_id = coalesce(%(remote_message_id)s, remote_message_id),
    error = %(error)s,
    payload = payload || %(payload_patch)s
WHERE id = %(id)s AND status = 'pending'
RETURNING id, recipient_ig_id, kind, payload, status, attempts, retry_base,
          remote_message_id, error, message_id;

-- outbound_message_recent_verification --
-- Whether a verification DM to this account is under way, or was sent recently with a
-- token still usable: then a new message from them gets no second one.
SELECT EXISTS (
    SELECT 1
    FROM outbound_messages o
    LEFT JOIN verification_tokens t ON t.created_by_event_id = o.message_id
    WHERE o.recipient_ig_id = %(ig_id)s
      AND o.kind = 'verification'
      AND o.created_at > now() - make_interval(secs => %(window_seconds)s)
      AND (o.status = 'pending'
           OR (o.status = 'sent' AND t.token_hash IS NOT NULL
               AND NOT t.consumed AND t.expires_at > now()))
) AS recent;

-- outbound_message_requeue_failed --
-- Put failed DMs back to `pending` as new attempts (`ingest retry-failed`), each with a
-- fresh retry budget: `retry_base` takes the calls made so far, which `attempts` keeps
-- counting. Each filter is optional; `since_seconds` means failed that recently. A
-- verification DM asked for through send-verification-dm stays out: its token's
-- plaintext was never stored, so no job could send its link again.
UPDATE outbound_messages o
SET status = 'pending', retry_base = o.attempts, requeued_at = now()
FROM (
    SELECT id
    FROM outbound_messages
    WHERE status = 'failed'
      AND (%(kind)s::text IS NULL OR kind = %(kind)s::text)
      AND (%(recipient)s::text IS NULL OR recipient_ig_id = %(recipient)s::text)
      AND (%(since_seconds)s::float8 IS NULL
           OR updated_at >= now() - make_interval(secs => %(since_seconds)s::float8))
      AND NOT (kind = 'verification' AND message_id IS NULL)
    ORDER BY created_at
    FOR UPDATE
) failed
WHERE o.id = failed.id AND o.status = 'failed'
RETURNING o.id, o.recipient_ig_id, o.kind, o.payload, o.status, o.attempts, o.retry_base,
          o.remote_message_id, o.error, o.message_id, o.requeued_at, o.created_at, o.updated_at;
