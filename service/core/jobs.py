"""The procrastinate app: task names, and deferring jobs inside the caller's transaction.

Service code defers by task name, so it never imports `workers/`; the worker process
registers the tasks themselves (`workers.tasks`). Jobs carry ids only, never payloads.
A job that should run again later raises `RetryLater`; the worker re-schedules it, so a
wait never holds a worker slot.
"""

from __future__ import annotations

import datetime
import uuid
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
FETCH_SENDER_PROFILES = "fetch_sender_profiles"
# One sender's fetch, as queued before migration 0039: such jobs still run.
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
    app: procrastinate.App,
    outbound_ids: list[uuid.UUID],
    *,
    at: datetime.datetime | None = None,
    priority: int | None = None,
) -> None:
    """A `send_outbound` job for each DM, due `at` (None: at once), at `priority` (None: the
    default), in one statement (procrastinate's `batch_defer_async`), on the app's own
    connection."""
    deferrer = app.configure_task(
        SEND_OUTBOUND, queue=QUEUE_OUTBOUND, schedule_at=at, priority=priority
    )
    each: list[dict[str, JSONValue]] = [{"outbound_id": str(dm_id)} for dm_id in outbound_ids]
    await deferrer.batch_defer_async(*each)
    metrics.JOBS_DEFERRED.labels(SEND_OUTBOUND).inc(len(outbound_ids))


async def defer_forward_delivery(
    app: procrastinate.App, conn: AsyncConnection[Any], delivery_id: int
) -> int:
    deferrer = app.configure_task(FORWARD_DELIVERY, queue=QUEUE_WEBHOOKS, connection=conn)
    return await deferrer.defer_async(delivery_id=delivery_id)


def profile_fetches(account: str) -> str:
    """The queueing lock and lock of `account`'s profile fetch job (named in SQL too:
    `instagram_profiles_request_fetch`)."""
    return f"profiles:{account}"


# Below the DMs' jobs (0): among the jobs due, a DM's runs first.
PROFILE_FETCH_PRIORITY = -10


async def defer_fetch_sender_profiles(
    app: procrastinate.App, account: str, *, delay_seconds: float = 0.0
) -> bool:
    """Queue `account`'s profile fetch job, due in `delay_seconds`, on the app's own
    connection, unless it waits already (its queueing lock); its lock keeps a second from
    running beside the first. Whether it was queued."""
    deferrer = app.configure_task(
        FETCH_SENDER_PROFILES,
        queue=QUEUE_PROFILES,
        queueing_lock=profile_fetches(account),
        lock=profile_fetches(account),
        priority=PROFILE_FETCH_PRIORITY,
        schedule_in={"seconds": delay_seconds} if delay_seconds > 0 else None,
    )
    try:
        await deferrer.defer_async(account=account)
    except procrastinate.exceptions.AlreadyEnqueued:
        return False
    metrics.JOBS_DEFERRED.labels(FETCH_SENDER_PROFILES).inc()
    return True
