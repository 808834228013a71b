-- procrastinate_jobs_delete_succeeded --
-- Delete the succeeded jobs of one task on one queue (their events go with them); returns
-- how many went. The queue narrows the scan to its index: a quiet queue's few rows.
WITH gone AS (
    DELETE FROM procrastinate_jobs
    WHERE queue_name = %(queue)s AND task_name = %(task_name)s AND status = 'succeeded'
    RETURNING 1
)
SELECT count(*) AS deleted FROM gone;
