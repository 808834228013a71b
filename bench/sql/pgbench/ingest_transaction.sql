-- pgbench script: the ingest endpoint's transaction, as the service runs it for a new event
-- (service/messages/ingestion.py: the message INSERT, then procrastinate's defer of
-- process_message).
-- Variables: -D run=<unique> -D k=0; :k counts each client's transactions, so every mid is
-- unique across clients and runs.
\set k :k + 1
BEGIN;
INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, attachments,
                      reply_to, quick_reply, is_echo, source, "timestamp")
VALUES ('pgbench.' || :run || '.' || :client_id || '.' || :k,
        'pgbench-sender-' || :client_id || '-' || :k, '17841400000000001',
        'Check this reel out!',
        '[{"type": "ig_reel", "payload": {"reel_video_id": "18087782618022081", "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"}}]',
        NULL, NULL, false, 'messaging', to_timestamp(1734123456))
ON CONFLICT (id) DO NOTHING
RETURNING id;
SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
    'messages', 'process_message', 0, NULL, NULL,
    jsonb_build_object('mid', 'pgbench.' || :run || '.' || :client_id || '.' || :k),
    NULL)::procrastinate_job_to_defer_v1])) AS id;
END;
