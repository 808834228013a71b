-- A worker running one message's `decide_message` job takes the jobs waiting behind it on
-- the same queue, up to a count, and decides their messages together
-- (`service/messages/batches.py`). It takes them through procrastinate's own fetch, in its
-- order (priority, then age; skipping locked, scheduled and lock-held jobs), marked `doing`
-- by the same worker as procrastinate marks the jobs it fetches: a worker that dies with them
-- leaves them to the rescue of stalled jobs, as any job it ran.
CREATE FUNCTION jobs_fetch_more_v1(queue_name varchar, worker_id bigint, job_count integer)
RETURNS SETOF procrastinate_jobs LANGUAGE plpgsql AS $$
DECLARE
    found procrastinate_jobs;
BEGIN
    FOR i IN 1 .. job_count LOOP
        found := procrastinate_fetch_job_v2(ARRAY[queue_name], worker_id);
        EXIT WHEN found.id IS NULL;
        RETURN NEXT found;
    END LOOP;
END;
$$;
