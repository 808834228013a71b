-- Our functions carry their version in their names, as procrastinate's do, and their
-- current source sits in one file (service/store/sql/functions.sql, checked against what
-- the migrations make by tests/integration/test_schema_functions.py). A renamed function
-- keeps its body and its triggers.
ALTER FUNCTION set_updated_at() RENAME TO set_updated_at_v1;
ALTER FUNCTION phase3_queue_notify() RENAME TO phase3_queue_notify_v1;
ALTER FUNCTION messaging_window_closed(text, text, interval) RENAME TO messaging_window_closed_v1;
ALTER FUNCTION ingest_messages(jsonb, text, text) RENAME TO ingest_messages_v1;
