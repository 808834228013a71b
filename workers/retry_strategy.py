"""When a failed job runs again.

`RetryLater` (a transient Graph API or ingest endpoint error) is re-scheduled after
exactly the wait the service chose. Anything else unexpected (a database hiccup, a bug) is
retried with backoff a bounded number of times, so one bad moment does not drop an accepted
event.
"""

from __future__ import annotations

import datetime as dt

import procrastinate
from procrastinate.jobs import Job

from service.core.backoff import backoff_seconds
from service.core.jobs import RetryLater


class IngestRetryStrategy(procrastinate.BaseRetryStrategy):
    def __init__(
        self, *, max_unexpected: int = 8, base_seconds: float = 1.0, cap_seconds: float = 300.0
    ) -> None:
        self.max_unexpected = max_unexpected
        self.base_seconds = base_seconds
        self.cap_seconds = cap_seconds

    def get_retry_decision(
        self, *, exception: BaseException, job: Job
    ) -> procrastinate.RetryDecision | None:
        if isinstance(exception, RetryLater):
            return _retry_in(exception.delay_seconds, exception.priority)
        if job.attempts >= self.max_unexpected:
            return None
        # `job.attempts` counts the runs before this one: this failure is run attempts + 1.
        wait = backoff_seconds(job.attempts + 1, base=self.base_seconds, cap=self.cap_seconds)
        return _retry_in(wait)


def _retry_in(seconds: float, priority: int | None = None) -> procrastinate.RetryDecision:
    # `retry_in` is typed in whole seconds; the waits here have fractions (1.5 s).
    return procrastinate.RetryDecision(
        retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds), priority=priority
    )
