-- `jobs_fetch_more_v1` called procrastinate's fetch once per job: each call walked the queue's
-- index from its head again, past the jobs locked or taken since, so taking N jobs cost N
-- walks, and more as the line grew. This takes them in one walk, in procrastinate's order
-- (priority, then age), skipping what procrastinate's fetch skips: jobs scheduled later and
-- jobs another transaction holds. A job with a `lock` is left to procrastinate's own fetch,
-- which orders the jobs that share one; the messages' and sends' jobs have none. Each is
-- marked `doing` by the worker as procrastinate marks the jobs it fetches, so a worker that
-- dies with them leaves them to the rescue of stalled jobs. v1 stays for workers not yet
-- upgraded.
CREATE FUNCTION jobs_fetch_more_v2(queue_name varchar, worker_id bigint, job_count integer)
RETURNS SETOF procrastinate_jobs LANGUAGE sql AS $$
    WITH candidate AS (
        SELECT jobs.id
        FROM procrastinate_jobs AS jobs
        WHERE jobs.status = 'todo'
          AND jobs.queue_name = jobs_fetch_more_v2.queue_name
          AND jobs.lock IS NULL
          AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
        ORDER BY jobs.priority DESC, jobs.id ASC
        LIMIT job_count
        FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs AS jobs
    SET status = 'doing', worker_id = jobs_fetch_more_v2.worker_id
    FROM candidate
    WHERE jobs.id = candidate.id
    RETURNING jobs.*;
$$;
