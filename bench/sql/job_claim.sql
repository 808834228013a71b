-- claim_worker_register --
-- A worker id for the claims, as a worker registers itself.
SELECT worker_id AS id FROM procrastinate_register_worker_v1();

-- claim_jobs_defer --
-- %(count)s ready jobs on queue %(queue)s, deferred as procrastinate defers them.
SELECT count(*) AS n FROM unnest(procrastinate_defer_jobs_v1(ARRAY(
    SELECT ROW(%(queue)s, 'bench_claim', 0, NULL, NULL,
               jsonb_build_object('mid', 'claim.' || g), NULL)::procrastinate_job_to_defer_v1
    FROM generate_series(1, %(count)s::int) AS g)));

-- claim_job --
-- One claim, exactly as a worker fetches its next job.
SELECT id FROM procrastinate_fetch_job_v2(ARRAY[%(queue)s]::varchar[], %(worker_id)s);

-- claim_jobs_delete --
-- Remove the claimed jobs (and any left unclaimed).
DELETE FROM procrastinate_jobs WHERE queue_name = %(queue)s;

-- claim_worker_unregister --
-- Remove the worker that claimed them, as a worker does when it stops.
SELECT procrastinate_unregister_worker_v1(%(worker_id)s);
