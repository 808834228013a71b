"""The worker middleware around every job: its count and its one log line.

Every job the worker runs, whatever its task (the periodic rescue and retention ones
included), is counted by outcome (`service.core.metrics`) and logged in one line named
after its task. The job's id and arguments (ids only, never payloads: `service.core.jobs`)
are bound to that line and to every line logged while it runs.

A task returns the fields of its line, as a mapping (or None for none); a `level` key
among them sets the line's level, `info` unless said. A `RetryLater` is logged as a
retry (a warning, or debug for a routine wait such as a send's turn under the pace), and
any other exception as an error (the task's retry strategy then decides whether the job
runs again).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import procrastinate
import structlog

from service.core import metrics
from service.core.jobs import RetryLater

log = structlog.get_logger("workers")

# What a task returns: the fields of its job's log line.
Fields = Mapping[str, Any] | None


async def count_and_log(
    call_next: Callable[[], Awaitable[Any]],
    context: procrastinate.JobContext,
    worker: Any,
) -> Any:
    job = context.job
    task = job.task_name
    # A periodic job's `timestamp` argument is its tick, which says nothing about it.
    ids = {name: value for name, value in job.task_kwargs.items() if name != "timestamp"}
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(job_id=job.id, **ids):
        try:
            result = await call_next()
        except RetryLater as exc:
            metrics.JOBS_FAILED.labels(task).inc()
            (log.debug if exc.routine else log.warning)(
                task,
                status="retrying",
                retry_in=exc.delay_seconds,
                error=str(exc),
                ms=_ms(started),
            )
            raise
        except Exception as exc:
            metrics.JOBS_FAILED.labels(task).inc()
            log.warning(task, status="error", error=repr(exc), ms=_ms(started), exc_info=True)
            raise
        metrics.JOBS_SUCCEEDED.labels(task).inc()
        fields = dict(result) if isinstance(result, Mapping) else {}
        level = fields.pop("level", "info")
        getattr(log, level)(task, **fields, ms=_ms(started))
    return result


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
