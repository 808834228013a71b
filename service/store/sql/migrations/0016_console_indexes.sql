-- What the operator console (service/console) looks up, each through an index, so that its
-- pages stay quick however long the history grows (tests/integration/test_console_scale.py
-- checks their plans).

-- Failed DMs, newest first, a page after the last one seen: (updated_at, id) is the keyset.
CREATE INDEX outbound_messages_failed_keyset ON outbound_messages (updated_at, id)
    WHERE status = 'failed';

-- Messages received per minute over the last day (the overview's chart).
CREATE INDEX messages_created_at ON messages (created_at);

-- The webhook delivery that carried a message: its mid inside the stored body
-- (`body @> '{"entry": [{"messaging": [{"message": {"mid": ...}}]}]}'`).
CREATE INDEX webhook_deliveries_body ON webhook_deliveries USING gin (body jsonb_path_ops);

-- A message's jobs: its processing, and the sends of its DMs.
CREATE INDEX procrastinate_jobs_message ON procrastinate_jobs ((args ->> 'mid'))
    WHERE task_name = 'process_message';
CREATE INDEX procrastinate_jobs_outbound ON procrastinate_jobs ((args ->> 'outbound_id'))
    WHERE task_name = 'send_outbound';
