"""The tasks: thin wrappers that load by id, call the service, and log one line."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import procrastinate
import structlog

from service import jobs, processing, sending
from service.runtime import Runtime
from service.webhooks import forward, retention
from workers.retry import IngestRetryStrategy

log = structlog.get_logger("workers")


def register(app: procrastinate.App) -> None:
    """Register the tasks on this process's app."""
    retry = IngestRetryStrategy()
    app.task(name=jobs.PROCESS_MESSAGE, queue=jobs.QUEUE_MESSAGES, pass_context=True,
             retry=retry)(process_message)
    app.task(name=jobs.SEND_OUTBOUND, queue=jobs.QUEUE_OUTBOUND, pass_context=True,
             retry=retry)(send_outbound)
    app.task(name=jobs.FORWARD_DELIVERY, queue=jobs.QUEUE_WEBHOOKS, pass_context=True,
             retry=retry)(forward_delivery)
    # Hourly, so that each run deletes an hour's worth of deliveries, not a month's.
    app.periodic(cron="17 * * * *")(app.task(
        name=jobs.PURGE_WEBHOOK_DELIVERIES, queue=jobs.QUEUE_WEBHOOKS,
        pass_context=True)(purge_webhook_deliveries))


def _runtime(context: procrastinate.JobContext) -> Runtime:
    return context.additional_context["runtime"]


async def process_message(context: procrastinate.JobContext, mid: str) -> None:
    with _job_log(context, "process_message", mid=mid) as done:
        outcome = await processing.process_message(_runtime(context), mid)
        done(outcome=str(outcome))


async def send_outbound(context: procrastinate.JobContext, outbound_id: str) -> None:
    with _job_log(context, "send_outbound", outbound_id=outbound_id) as done:
        row = await sending.send_outbound(_runtime(context), uuid.UUID(outbound_id))
        if row is None:
            done(status="missing", level="warning")
            return
        done(status=row.status, kind=row.kind, attempts=row.attempts, error=row.error)


async def forward_delivery(context: procrastinate.JobContext, delivery_id: int) -> None:
    with _job_log(context, "forward_delivery", delivery_id=delivery_id) as done:
        result = await forward.forward_delivery(_runtime(context), delivery_id)
        if result is None:
            done(status="missing", level="warning")
            return
        delivery = result.delivery
        done(status=delivery.status, attempts=delivery.attempts,
             forwarded=delivery.messages_forwarded, held_back=result.held_back,
             other_events=result.other_events, warnings=list(result.warnings),
             error=delivery.last_error)


async def purge_webhook_deliveries(context: procrastinate.JobContext, timestamp: int) -> None:
    with _job_log(context, "purge_webhook_deliveries") as done:
        deleted = await retention.purge_forwarded_deliveries(_runtime(context))
        done(deleted=deleted, retention_days=_runtime(context).settings.webhook_retention_days)


@contextlib.contextmanager
def _job_log(context: procrastinate.JobContext, task: str,
             **ids: Any) -> Iterator[Callable[..., None]]:
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


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
