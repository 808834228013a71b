"""The procrastinate app: task names, and deferring jobs inside the caller's transaction.

Service code defers by task name, so it never imports `workers/`; the worker process
registers the tasks themselves (`workers.tasks`). Jobs carry ids only, never payloads.
A job that should run again later raises `RetryLater`; the worker re-schedules it, so a
wait never holds a worker slot.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import procrastinate
from procrastinate.types import JSONValue
from psycopg import AsyncConnection

from service.core import metrics

DECIDE_MESSAGE = "decide_message"
# Its name before migration 0024: jobs queued under it (by a web process not yet upgraded,
# or before the upgrade) still run, the worker knowing it as an alias.
DECIDE_MESSAGE_FORMERLY = "process_message"
SEND_OUTBOUND = "send_outbound"
FORWARD_DELIVERY = "forward_delivery"
FETCH_SENDER_PROFILE = "fetch_sender_profile"
PURGE_WEBHOOK_DELIVERIES = "purge_webhook_deliveries"
RESCUE_STALLED_JOBS = "rescue_stalled_jobs"
RECONCILE_ACCOUNT = "reconcile_account"
QUEUE_MESSAGES = "messages"
QUEUE_OUTBOUND = "outbound"
# Retention and other housekeeping, apart so it never waits behind a DM backlog.
QUEUE_MAINTENANCE = "maintenance"
QUEUE_WEBHOOKS = "webhooks"
# Reads in the background (senders' profiles), apart so a DM never waits behind them.
QUEUE_PROFILES = "profiles"
QUEUES = (QUEUE_MESSAGES, QUEUE_OUTBOUND, QUEUE_WEBHOOKS, QUEUE_MAINTENANCE, QUEUE_PROFILES)


class RetryLater(Exception):
    """The job should run again in `delay_seconds`; with `priority`, at that priority
    (procrastinate runs the higher first among the jobs due). A `routine` wait (a send's
    turn under the pace) is expected in normal work, and logged at debug, not as a warning."""

    routine = False

    def __init__(self, delay_seconds: float, error: str, *, priority: int | None = None) -> None:
        super().__init__(f"retry in {delay_seconds:g}s: {error}")
        self.delay_seconds = delay_seconds
        self.priority = priority


def make_app(database_url: str) -> procrastinate.App:
    """An app whose connector is opened on the process's pool (`app.open_async(pool)`)."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))


async def defer_decide_message(app: procrastinate.App, conn: AsyncConnection[Any], mid: str) -> int:
    deferrer = app.configure_task(DECIDE_MESSAGE, queue=QUEUE_MESSAGES, connection=conn)
    job_id = await deferrer.defer_async(mid=mid)
    metrics.JOBS_DEFERRED.labels(DECIDE_MESSAGE).inc()
    return job_id


async def defer_send_outbound(
    app: procrastinate.App, conn: AsyncConnection[Any], outbound_id: uuid.UUID
) -> int:
    deferrer = app.configure_task(SEND_OUTBOUND, queue=QUEUE_OUTBOUND, connection=conn)
    job_id = await deferrer.defer_async(outbound_id=str(outbound_id))
    metrics.JOBS_DEFERRED.labels(SEND_OUTBOUND).inc()
    return job_id


async def defer_send_outbound_each(
    app: procrastinate.App, outbound_ids: list[uuid.UUID], *, delay_seconds: float = 0.0
) -> None:
    """A `send_outbound` job for each DM, due in `delay_seconds`, in one statement
    (procrastinate's `batch_defer_async`), on the app's own connection."""
    deferrer = app.configure_task(
        SEND_OUTBOUND,
        queue=QUEUE_OUTBOUND,
        schedule_in={"seconds": delay_seconds} if delay_seconds > 0 else None,
    )
    each: list[dict[str, JSONValue]] = [{"outbound_id": str(dm_id)} for dm_id in outbound_ids]
    await deferrer.batch_defer_async(*each)
    metrics.JOBS_DEFERRED.labels(SEND_OUTBOUND).inc(len(outbound_ids))


async def defer_forward_delivery(
    app: procrastinate.App, conn: AsyncConnection[Any], delivery_id: int
) -> int:
    deferrer = app.configure_task(FORWARD_DELIVERY, queue=QUEUE_WEBHOOKS, connection=conn)
    return await deferrer.defer_async(delivery_id=delivery_id)


async def defer_fetch_sender_profile(app: procrastinate.App, ig_id: str, *, account: str) -> bool:
    """Queue the fetch of `ig_id`'s profile, on the app's own connection; False when one is
    queued already (its queueing lock): a chatty sender costs one fetch, not one each."""
    deferrer = app.configure_task(FETCH_SENDER_PROFILE, **_profile_fetch(ig_id, account))
    try:
        await deferrer.defer_async(ig_id=ig_id)
    except procrastinate.exceptions.AlreadyEnqueued:
        return False
    metrics.JOBS_DEFERRED.labels(FETCH_SENDER_PROFILE).inc()
    return True


def profile_queueing_lock(ig_id: str) -> str:
    """The queueing lock of `ig_id`'s profile fetch (named in SQL too:
    `instagram_profiles_due_for_fetch_many`)."""
    return f"profile:{ig_id}"


# Below the DMs' jobs (0): the worker's fetch meets the profile fetches waiting in their
# account's line only when no DM's job is due.
PROFILE_FETCH_PRIORITY = -10


def _profile_fetch(ig_id: str, account: str) -> dict[str, Any]:
    """How a profile fetch is queued: once per sender at a time (its queueing lock), and in
    its account's line, one running at a time (its lock), so that the line waits on the
    read pace with one job, not all of them."""
    return {
        "queue": QUEUE_PROFILES,
        "queueing_lock": profile_queueing_lock(ig_id),
        "lock": f"profiles:{account}",
        "priority": PROFILE_FETCH_PRIORITY,
    }


async def defer_fetch_sender_profiles(
    app: procrastinate.App, senders: Sequence[tuple[str, str]]
) -> int:
    """`defer_fetch_sender_profile` for several (ig_id, account), in one statement; when one
    of them was queued meanwhile (its queueing lock refuses the statement), one at a time.
    Returns how many were queued."""
    if not senders:
        return 0
    each = [
        procrastinate.jobs.Job(
            task_name=FETCH_SENDER_PROFILE,
            task_kwargs={"ig_id": ig_id},
            **_profile_fetch(ig_id, account),
        )
        for ig_id, account in senders
    ]
    try:
        await app.job_manager.batch_defer_jobs_async(each)
    except procrastinate.exceptions.AlreadyEnqueued:
        queued = [
            await defer_fetch_sender_profile(app, ig_id, account=account)
            for ig_id, account in senders
        ]
        return sum(queued)
    metrics.JOBS_DEFERRED.labels(FETCH_SENDER_PROFILE).inc(len(senders))
    return len(senders)
