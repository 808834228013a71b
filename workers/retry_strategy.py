"""When a failed job runs again.

`RetryLater` (a wait for a send's turn, a transient Graph API or ingest endpoint error) is
re-scheduled after exactly the wait the service chose, and costs nothing: a job may wait
for its turn any number of times. Anything else unexpected (a database hiccup, a bug) is
retried with backoff until the job has met `max_unexpected` of them, so one bad moment
does not drop an accepted event, and a bug does not loop for ever.

procrastinate's `job.attempts` counts every run, waits included (a send that waited for its
turn nine times had spent its budget before meeting its first error), so the unexpected
errors are counted here, per job, by the worker process that meets them. A process started
again, or another process, counts a job's errors anew: a job may be tried more often than
`max_unexpected`, never less. A DM whose job stops all the same is queued again by the
rescue (`workers.rescue`).
"""

from __future__ import annotations

import collections
import datetime as dt

import procrastinate
from procrastinate.jobs import Job

from service.core.backoff import backoff_seconds
from service.core.jobs import RetryLater

# The jobs whose errors are remembered: a job that errs once and then succeeds leaves its
# count behind, so the oldest are forgotten past this many (they start their count anew).
REMEMBERED_JOBS = 10_000


class IngestRetryStrategy(procrastinate.BaseRetryStrategy):
    def __init__(
        self, *, max_unexpected: int = 8, base_seconds: float = 1.0, cap_seconds: float = 300.0
    ) -> None:
        self.max_unexpected = max_unexpected
        self.base_seconds = base_seconds
        self.cap_seconds = cap_seconds
        self._errors: collections.OrderedDict[int | None, int] = collections.OrderedDict()

    def get_retry_decision(
        self, *, exception: BaseException, job: Job
    ) -> procrastinate.RetryDecision | None:
        if isinstance(exception, RetryLater):
            return _retry_in(exception.delay_seconds, exception.priority)
        errors = self._count_error(job.id)
        if errors > self.max_unexpected:
            self._errors.pop(job.id, None)
            return None
        wait = backoff_seconds(errors, base=self.base_seconds, cap=self.cap_seconds)
        return _retry_in(wait)

    def _count_error(self, job_id: int | None) -> int:
        """This job's unexpected errors, this one included."""
        errors = self._errors.pop(job_id, 0) + 1
        self._errors[job_id] = errors
        while len(self._errors) > REMEMBERED_JOBS:
            self._errors.popitem(last=False)
        return errors


def _retry_in(seconds: float, priority: int | None = None) -> procrastinate.RetryDecision:
    # `retry_in` is typed in whole seconds; the waits here have fractions (1.5 s).
    return procrastinate.RetryDecision(
        retry_at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds), priority=priority
    )
