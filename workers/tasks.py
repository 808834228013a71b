"""The tasks: thin wrappers that load by id, call the service, and log one line."""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import procrastinate
import structlog

from service.core import jobs, metrics
from service.core.runtime import Runtime
from service.dms import sending
from service.messages import processing
from service.operations import retention
from service.store.rows import OutboundMessage
from service.webhooks import forward
from workers.retry_strategy import IngestRetryStrategy

log = structlog.get_logger("workers")
REMOVE_OLD_JOBS = "remove_old_jobs"
REMOVE_DONE_PHASE3_ROWS = "remove_done_phase3_rows"
# Hourly, off the hour so it does not meet every other service's cron at :00.
RETENTION_CRON = "17 * * * *"


def register(app: procrastinate.App) -> None:
    """Register the tasks, and the periodic retention ones, on this process's app."""
    retry = IngestRetryStrategy()
    app.task(name=jobs.PROCESS_MESSAGE, queue=jobs.QUEUE_MESSAGES, pass_context=True, retry=retry)(
        _counted(process_message)
    )
    app.task(name=jobs.SEND_OUTBOUND, queue=jobs.QUEUE_OUTBOUND, pass_context=True, retry=retry)(
        _counted(send_outbound)
    )
    app.task(name=jobs.FORWARD_DELIVERY, queue=jobs.QUEUE_WEBHOOKS, pass_context=True, retry=retry)(
        _counted(forward_delivery)
    )
    # Hourly, so that each run deletes an hour's worth of rows, not a month's.
    for name, queue, task in (
        (jobs.PURGE_WEBHOOK_DELIVERIES, jobs.QUEUE_MAINTENANCE, purge_webhook_deliveries),
        (REMOVE_OLD_JOBS, jobs.QUEUE_MAINTENANCE, remove_old_jobs),
        (REMOVE_DONE_PHASE3_ROWS, jobs.QUEUE_MAINTENANCE, remove_done_phase3_rows),
    ):
        app.periodic(cron=RETENTION_CRON, periodic_id=name)(
            app.task(name=name, queue=queue, pass_context=True)(_counted(task))
        )


def _counted(task: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """Count the task's runs by outcome (`service.core.metrics`)."""

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
    with _job_log(context, "process_message", mid=mid) as done:
        processed = await processing.process_message(_runtime(context), mid)
        done(outcome=str(processed.outcome), dms=[_dm_fields(dm) for dm in processed.dms])


async def send_outbound(context: procrastinate.JobContext, outbound_id: str) -> None:
    with _job_log(context, "send_outbound", outbound_id=outbound_id) as done:
        row = await sending.send_outbound(_runtime(context), uuid.UUID(outbound_id))
        if row is None:
            done(status="missing", level="warning")
            return
        done(**_dm_fields(row))


def _dm_fields(dm: OutboundMessage) -> dict[str, Any]:
    return {
        "outbound_id": str(dm.id),
        "status": dm.status,
        "kind": dm.kind,
        "attempts": dm.attempts,
        "error": dm.error,
    }


async def forward_delivery(context: procrastinate.JobContext, delivery_id: int) -> None:
    with _job_log(context, "forward_delivery", delivery_id=delivery_id) as done:
        result = await forward.forward_delivery(_runtime(context), delivery_id)
        if result is None:
            done(status="missing", level="warning")
            return
        delivery = result.delivery
        done(
            status=delivery.status,
            attempts=delivery.attempts,
            forwarded=delivery.messages_forwarded,
            held_back=result.held_back,
            other_events=result.other_events,
            warnings=list(result.warnings),
            error=delivery.last_error,
        )


async def purge_webhook_deliveries(context: procrastinate.JobContext, timestamp: int) -> None:
    with _job_log(context, "purge_webhook_deliveries") as done:
        deleted = await retention.purge_forwarded_deliveries(_runtime(context))
        done(deleted=deleted, retention_days=_runtime(context).settings.webhook_retention_days)


@contextlib.contextmanager
def _job_log(
    context: procrastinate.JobContext, task: str, **ids: Any
) -> Iterator[Callable[..., None]]:
    """Bind the job's ids to every line logged inside; `done(**fields)` logs the job's one
    line, and a `RetryLater` is logged as a retry on its way out."""
    started = time.perf_counter()

    def done(level: str = "info", **fields: Any) -> None:
        getattr(log, level)(task, **fields, ms=_ms(started))

    with structlog.contextvars.bound_contextvars(job_id=context.job.id, **ids):
        try:
            yield done
        except jobs.RetryLater as exc:
            done("warning", status="retrying", retry_in=exc.delay_seconds, error=str(exc))
            raise


async def remove_old_jobs(context: procrastinate.JobContext, timestamp: int) -> None:
    with _job_log(context, REMOVE_OLD_JOBS) as done:
        await retention.remove_old_jobs(context, _runtime(context))
        done()


async def remove_done_phase3_rows(context: procrastinate.JobContext, timestamp: int) -> None:
    with _job_log(context, REMOVE_DONE_PHASE3_ROWS) as done:
        done(deleted=await retention.remove_done_phase3_rows(_runtime(context)))


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
