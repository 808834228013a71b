"""Crash rescue: return the jobs of dead workers to the queue.

Each worker beats every `worker_heartbeat_seconds` (procrastinate's heartbeats). A job
still in `doing` whose worker has been silent for `worker_stalled_seconds` (SIGKILL, OOM,
a lost machine, a worker loop restarted after a database outage) will never finish by
itself; this periodic task hands it back with procrastinate's `retry_job`, so the next free
worker runs it again. It also fails the DMs left pending with no job at all (see
`service.dms.sending`), so no DM stays pending for ever, and defers the forwarding again of
webhook deliveries whose job failed for good (`service.webhooks.recovery`), so none stays
`received` for ever. Jobs are safe to run twice:
processing is idempotent by mid, and a send that was in flight is bounded by its recovery
point (docs/reliability.md).

The worst case from a crash to the job queued again is about
`worker_stalled_seconds + worker_rescue_interval_seconds` (25 s by default).

It runs every `worker_rescue_interval_seconds` (5 s), so its routine run is logged at
debug (by `workers.middleware`, from the level it returns), and each run
deletes the job rows of the rescues that succeeded before it: they would be most of the
job table's history and say nothing. A rescue that did something logs a warning; one that
failed keeps its row, for the retention to delete.
"""

from __future__ import annotations

import procrastinate
import structlog
from procrastinate.exceptions import ConnectorException

from service.core import jobs
from service.core.db import is_database_unavailable
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.dms import sending
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
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=rt.settings.worker_stalled_seconds
    )
    rescued = []
    for job in stalled:
        try:
            await manager.retry_job(job)
        except ConnectorException as exc:
            if is_database_unavailable(exc):
                raise
            # Finished or rescued by someone else since the query: nothing to do.
            continue
        rescued.append(f"{job.task_name}[{job.id}]")
    if rescued:
        log.warning("rescued jobs of stalled workers", jobs=rescued)
    orphaned = await sending.fail_orphaned(rt)
    if orphaned:
        log.warning("failed DMs that nothing would finish", outbound_ids=[str(i) for i in orphaned])
    deliveries = await recovery.forward_orphaned(rt)
    if deliveries:
        log.warning("deferred again deliveries that nothing would forward", delivery_ids=deliveries)
    return {
        "level": "debug",
        "rescued": len(rescued),
        "orphaned": len(orphaned),
        "deliveries": len(deliveries),
    }
