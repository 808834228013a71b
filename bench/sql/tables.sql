-- reset_tables --
-- Empty every table the service and its jobs write, between figures (no process may be
-- working then): each figure starts from the same empty state.
TRUNCATE messages, outbound_messages, phase3_queue, verification_tokens, instagram_profiles,
         profiles, webhook_deliveries, graph_rate_limits, procrastinate_events,
         procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers,
         reconcile_runs, graph_send_buckets
    RESTART IDENTITY CASCADE;

-- seed_connected_senders --
-- Connect each Instagram account of %(ig_ids)s to a Reeva user of its own.
WITH sender AS (
    SELECT ig_id, md5(ig_id)::uuid AS user_id FROM unnest(%(ig_ids)s::text[]) AS ig_id
), person AS (
    INSERT INTO profiles (id) SELECT user_id FROM sender RETURNING id
)
INSERT INTO instagram_profiles (ig_id, connected_user_id, connected_at)
SELECT ig_id, user_id, now() FROM sender;

-- count_messages --
-- How many messages are stored.
SELECT count(*) AS n FROM messages;

-- analyze --
-- Statistics for the tables a figure has just bulk-loaded, as autovacuum gathers them
-- soon after in production: without them the planner takes a fresh table for empty,
-- and each job claim reads and sorts every ready job.
ANALYZE;

-- checkpoint --
-- Write out what earlier phases left dirty, so that it does not land in a measurement.
CHECKPOINT;

-- count_workers --
-- Workers registered with procrastinate (each worker process registers on start).
SELECT count(*) AS n FROM procrastinate_workers;
