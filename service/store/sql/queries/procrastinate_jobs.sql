-- procrastinate_jobs_delete_succeeded --
-- Delete the succeeded jobs of one task on one queue (their events go with them); returns
-- how many went. The queue narrows the scan to its index: a quiet queue's few rows.
WITH gone AS (
    DELETE FROM procrastinate_jobs
    WHERE queue_name = %(queue)s AND task_name = %(task_name)s AND status = 'succeeded'
    RETURNING 1
)
SELECT count(*) AS deleted FROM gone;

-- procrastinate_jobs_fetch_more --
-- Up to `count` more jobs of `queue` for the worker running job `job_id`, in procrastinate's
-- order (`jobs_fetch_more_v2`): marked `doing` by that worker, for the running job to do and
-- finish (`procrastinate_jobs_finish_taken`) or give back (`procrastinate_jobs_give_back`).
-- No row when none waits.
SELECT j.id, j.args
FROM procrastinate_jobs running,
     jobs_fetch_more_v2(%(queue)s, running.worker_id, %(count)s) AS j
WHERE running.id = %(job_id)s AND running.status = 'doing' AND running.worker_id IS NOT NULL
ORDER BY j.priority DESC, j.id;

-- procrastinate_jobs_finish_taken --
-- Jobs taken by `procrastinate_jobs_fetch_more`, done: succeeded, as procrastinate finishes
-- a job (`procrastinate_finish_job_v1`).
SELECT count(procrastinate_finish_job_v1(id, 'succeeded', false)) AS finished
FROM unnest(%(ids)s::bigint[]) AS id;

-- procrastinate_jobs_give_back --
-- Jobs taken by `procrastinate_jobs_fetch_more` and not done: waiting again, due at once,
-- as procrastinate retries a job (`procrastinate_retry_job_v2`), its attempt counted.
SELECT count(procrastinate_retry_job_v2(id, now(), NULL, NULL, NULL)) AS given_back
FROM unnest(%(ids)s::bigint[]) AS id;
