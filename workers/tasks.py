"""The tasks: thin wrappers that load by id, call the service, and log one line."""

from __future__ import annotations

import time
import uuid

import procrastinate
import structlog

from service import jobs, processing, sending
from service.runtime import Runtime
from workers.retry import IngestRetryStrategy

log = structlog.get_logger("workers")


def register(app: procrastinate.App) -> None:
    """Register the tasks on this process's app."""
    retry = IngestRetryStrategy()
    app.task(name=jobs.PROCESS_MESSAGE, queue=jobs.QUEUE_MESSAGES, pass_context=True,
             retry=retry)(process_message)
    app.task(name=jobs.SEND_OUTBOUND, queue=jobs.QUEUE_OUTBOUND, pass_context=True,
             retry=retry)(send_outbound)


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


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
