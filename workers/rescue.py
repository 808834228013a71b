"""Crash rescue: return the jobs of dead workers to the queue.

Each worker beats every `worker_heartbeat_seconds` (procrastinate's heartbeats). A job
still in `doing` whose worker has been silent for `worker_stalled_seconds` (SIGKILL, OOM,
a lost machine, a worker loop restarted after a database outage) will never finish by
itself; this periodic task hands it back with procrastinate's `retry_job`, so the next free
worker runs it again. It also queues again the DMs left pending without a job whose send
has not begun, and fails those left so long (`service.dms.orphans`), so no DM stays
pending for ever, and defers the forwarding again of
webhook deliveries whose job failed for good (`service.webhooks.recovery`), so none stays
`received` for ever. Jobs are safe to run twice:
a decision is idempotent by mid, and a send that was in flight is bounded by its recovery
point (docs/reliability.md).

A stalled job with a queueing lock cannot go back to `todo` while a sibling holding the same
lock waits there (the lock's unique index; `retry_job` raises UniqueViolation): the sibling
is queued to do the same work, so the stalled job is failed instead, logged and counted
(`ingest_rescue_superseded_jobs_total`), never left `doing`. The rescue's own jobs are the
usual case: a worker killed while it ran a rescue leaves that rescue `doing` while the next
tick's waits.

The worst case from a crash to the job queued again is about
`worker_stalled_seconds + worker_rescue_interval_seconds` (25 s by default).

It runs every `worker_rescue_interval_seconds` (5 s), so its routine run is logged at
debug (by `workers.middleware`, from the level it returns), and each run
deletes the job rows of the rescues that succeeded before it: they would be most of the
job table's history and say nothing. A rescue that did something logs a warning; one that
failed keeps its row, for the retention to delete.
"""

from __future__ import annotations

import uuid

import procrastinate
import structlog
from procrastinate.exceptions import ConnectorException, UniqueViolation
from procrastinate.jobs import Job, Status
from procrastinate.manager import JobManager

from service.core import jobs, metrics
from service.core.db import is_database_unavailable
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.dms import orphans
from service.store import procrastinate_jobs
from service.webhooks import recovery
from workers.middleware import Fields

log = structlog.get_logger("workers")


def register(app: procrastinate.App, settings: Settings) -> None:
    # A queueing lock: ticks that find a rescue already waiting add none.
    task = app.task(
        name=jobs.RESCUE_STALLED_JOBS,
        queue=jobs.QUEUE_MAINTENANCE,
        queueing_lock=jobs.RESCUE_STALLED_JOBS,
        pass_context=True,
    )
    # croniter's sixth field is seconds.
    cron = f"* * * * * */{settings.worker_rescue_interval_seconds}"
    app.periodic(cron=cron)(task(rescue_stalled_jobs))


async def rescue_stalled_jobs(context: procrastinate.JobContext, timestamp: int) -> Fields:
    rt: Runtime = context.additional_context["runtime"]
    async with rt.pool.connection() as conn:
        # This run's own row is still `doing`: the next run deletes it.
        await procrastinate_jobs.delete_succeeded(
            conn, queue=jobs.QUEUE_MAINTENANCE, task_name=jobs.RESCUE_STALLED_JOBS
        )
    rescued, superseded = await _rescue_stalled(context.app.job_manager, rt.settings)
    requeued, orphaned = await _settle_jobless_dms(rt)
    deliveries = await recovery.forward_orphaned(rt)
    if deliveries:
        log.warning("deferred again deliveries that nothing would forward", delivery_ids=deliveries)
    return {
        "level": "debug",
        "rescued": len(rescued),
        "superseded": len(superseded),
        "requeued": len(requeued),
        "orphaned": len(orphaned),
        "deliveries": len(deliveries),
    }


async def _rescue_stalled(manager: JobManager, settings: Settings) -> tuple[list[str], list[str]]:
    """Hand the jobs of silent workers back to the queue; (rescued, superseded) jobs."""
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=settings.worker_stalled_seconds
    )
    rescued, superseded = [], []
    for job in stalled:
        try:
            await manager.retry_job(job)
        except UniqueViolation:
            if await _fail_superseded(manager, job):
                superseded.append(f"{job.task_name}[{job.id}]")
            continue
        except ConnectorException as exc:
            if is_database_unavailable(exc):
                raise
            # Finished or rescued by someone else since the query: nothing to do.
            continue
        rescued.append(f"{job.task_name}[{job.id}]")
    if rescued:
        log.warning("rescued jobs of stalled workers", jobs=rescued)
    if superseded:
        log.warning("failed stalled jobs a waiting job supersedes", jobs=superseded)
    return rescued, superseded


async def _settle_jobless_dms(rt: Runtime) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """Queue again the pending DMs without a job that were not begun, and fail the ones
    nothing can finish; (re-queued, failed) DMs."""
    requeued = await orphans.requeue_jobless(rt)
    if requeued:
        log.warning(
            "re-queued DMs whose job stopped before their send began",
            outbound_ids=[str(i) for i in requeued],
        )
    orphaned = await orphans.fail_orphaned(rt)
    if orphaned:
        log.warning("failed DMs that nothing would finish", outbound_ids=[str(i) for i in orphaned])
    return requeued, orphaned


async def _fail_superseded(manager: JobManager, job: Job) -> bool:
    """Fail a stalled job whose queueing lock a `todo` sibling holds; False when it was
    finished or rescued by someone else meanwhile."""
    assert job.id is not None
    try:
        await manager.finish_job_by_id_async(job.id, status=Status.FAILED, delete_job=False)
    except ConnectorException as exc:
        if is_database_unavailable(exc):
            raise
        return False
    metrics.RESCUE_SUPERSEDED.labels(job.task_name).inc()
    return True
