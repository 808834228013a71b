-- reconcile_runs_lock --
-- Wait for the account's reconciliation lock (a session advisory lock, released by
-- `reconcile_runs_unlock` or when the connection closes): one run per account at a time.
SELECT pg_advisory_lock(hashtextextended('reconcile:' || %(account_id)s, 0));

-- reconcile_runs_try_lock --
-- The account's reconciliation lock if it is free; whether it was taken.
SELECT pg_try_advisory_lock(hashtextextended('reconcile:' || %(account_id)s, 0)) AS locked;

-- reconcile_runs_unlock --
-- Release the account's reconciliation lock.
SELECT pg_advisory_unlock(hashtextextended('reconcile:' || %(account_id)s, 0));

-- reconcile_runs_last_completed --
-- Where the account's last completed run started (NULL: none ever completed) and how long
-- ago, by the database's clock.
SELECT max(started_at) AS started_at,
       extract(epoch FROM now() - max(started_at))::float8 AS seconds_ago
FROM reconcile_runs
WHERE account_id = %(account_id)s AND finished_at IS NOT NULL;

-- reconcile_runs_start --
-- Record a run's start; `since` is `since_seconds` before now. Returns the run's id and since.
INSERT INTO reconcile_runs (account_id, trigger, since)
VALUES (%(account_id)s, %(trigger)s, now() - make_interval(secs => %(since_seconds)s))
RETURNING id, since;

-- reconcile_runs_finish --
-- Record a completed run's counts.
UPDATE reconcile_runs
SET finished_at = now(),
    conversations = %(conversations)s,
    messages_seen = %(messages_seen)s,
    already_stored = %(already_stored)s,
    recovered = %(recovered)s,
    gaps = %(gaps)s,
    calls = %(calls)s,
    gap_conversations = %(gap_conversations)s
WHERE id = %(id)s;

-- reconcile_runs_known_mids --
-- Which of these mids the service has: stored as messages, or its own DMs as Meta named them.
SELECT id AS mid FROM messages WHERE id = ANY(%(mids)s)
UNION
SELECT remote_message_id FROM outbound_messages WHERE remote_message_id = ANY(%(mids)s);
