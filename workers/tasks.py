"""The tasks: thin wrappers that load by id, call the service, and log one line."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Awaitable, Callable

import procrastinate
import structlog

from service import jobs, metrics, processing, retention, sending
from service.runtime import Runtime
from workers.retry import IngestRetryStrategy

log = structlog.get_logger("workers")
REMOVE_OLD_JOBS = "remove_old_jobs"
REMOVE_DONE_PHASE3_ROWS = "remove_done_phase3_rows"
# Hourly, off the hour so it does not meet every other service's cron at :00.
RETENTION_CRON = "17 * * * *"


def register(app: procrastinate.App) -> None:
    """Register the tasks, and the periodic retention ones, on this process's app."""
    retry = IngestRetryStrategy()
    app.task(name=jobs.PROCESS_MESSAGE, queue=jobs.QUEUE_MESSAGES, pass_context=True,
             retry=retry)(_counted(process_message))
    app.task(name=jobs.SEND_OUTBOUND, queue=jobs.QUEUE_OUTBOUND, pass_context=True,
             retry=retry)(_counted(send_outbound))
    for name, task in ((REMOVE_OLD_JOBS, remove_old_jobs),
                       (REMOVE_DONE_PHASE3_ROWS, remove_done_phase3_rows)):
        app.periodic(cron=RETENTION_CRON, periodic_id=name)(
            app.task(name=name, queue=jobs.QUEUE_MAINTENANCE, pass_context=True)(
                _counted(task)))


def _counted(task: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Count the task's runs by outcome (`service.metrics`)."""
    @functools.wraps(task)
    async def run(context: procrastinate.JobContext, **kwargs) -> None:
        try:
            await task(context, **kwargs)
        except Exception:
            metrics.JOBS_FAILED.labels(context.job.task_name).inc()
            raise
        metrics.JOBS_SUCCEEDED.labels(context.job.task_name).inc()
    return run


def _runtime(context: procrastinate.JobContext) -> Runtime:
    return context.additional_context["runtime"]


async def process_message(context: procrastinate.JobContext, mid: str) -> None:
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(job_id=context.job.id, mid=mid):
        outcome = await processing.process_message(_runtime(context), mid)
        log.info("process_message", outcome=str(outcome), ms=_ms(started))


async def send_outbound(context: procrastinate.JobContext, outbound_id: str) -> None:
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(job_id=context.job.id, outbound_id=outbound_id):
        try:
            row = await sending.send_outbound(_runtime(context), uuid.UUID(outbound_id))
        except sending.RetryLater as exc:
            log.warning("send_outbound", status="retrying", retry_in=exc.delay_seconds,
                        error=str(exc), ms=_ms(started))
            raise
        if row is None:
            log.warning("send_outbound", status="missing", ms=_ms(started))
            return
        log.info("send_outbound", status=row.status, kind=row.kind, attempts=row.attempts,
                 error=row.error, ms=_ms(started))


async def remove_old_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    started = time.perf_counter()
    await retention.remove_old_jobs(context, _runtime(context))
    log.info(REMOVE_OLD_JOBS, ms=_ms(started))


async def remove_done_phase3_rows(context: procrastinate.JobContext, timestamp: int) -> None:
    started = time.perf_counter()
    deleted = await retention.remove_done_phase3_rows(_runtime(context))
    log.info(REMOVE_DONE_PHASE3_ROWS, deleted=deleted, ms=_ms(started))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
