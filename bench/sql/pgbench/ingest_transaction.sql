-- pgbench script: the ingest endpoint's transaction, as the service runs it for a new event
-- (service/messages/ingestion.py: one statement, `ingest_messages_applying_edits_v1`, which
-- locks the mid against its edits and unsends, stores the message, notes its sender's window,
-- defers decide_message through procrastinate and applies any edit that came first).
-- Variables: -D run=<unique> -D k=0; :k counts each client's transactions, so every mid is
-- unique across clients and runs.
\set k :k + 1
SELECT ingest_messages_applying_edits_v1(jsonb_build_array(jsonb_build_object(
    'mid', 'pgbench.' || :run || '.' || :client_id || '.' || :k,
    'sender_ig_id', 'pgbench-sender-' || :client_id || '-' || :k,
    'recipient_ig_id', '17841400000000001',
    'timestamp', '2024-12-13T20:57:36Z',
    'message_text', 'Check this reel out!',
    'attachments', '[{"type": "ig_reel", "payload": {"reel_video_id": "18087782618022081", "url": "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1"}}]'::jsonb,
    'reply_to', NULL, 'quick_reply', NULL, 'is_echo', false, 'source', 'messaging',
    'postback_payload', NULL)), 'messages', 'decide_message') AS new_mids;
