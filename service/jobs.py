"""The procrastinate app: task names, and deferring jobs inside the caller's transaction.

Service code defers by task name, so it never imports `workers/`; the worker process
registers the tasks themselves (`workers.tasks`). Jobs carry ids only, never payloads.
"""

from __future__ import annotations

import uuid

import procrastinate
from psycopg import AsyncConnection

PROCESS_MESSAGE = "process_message"
SEND_OUTBOUND = "send_outbound"
RESCUE_STALLED_JOBS = "rescue_stalled_jobs"
QUEUE_MESSAGES = "messages"
QUEUE_OUTBOUND = "outbound"
QUEUE_MAINTENANCE = "maintenance"
QUEUES = (QUEUE_MESSAGES, QUEUE_OUTBOUND, QUEUE_MAINTENANCE)


def make_app(database_url: str) -> procrastinate.App:
    """An app whose connector is opened on the process's pool (`app.open_async(pool)`)."""
    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))


async def defer_process_message(app: procrastinate.App, conn: AsyncConnection, mid: str) -> int:
    deferrer = app.configure_task(PROCESS_MESSAGE, queue=QUEUE_MESSAGES, connection=conn)
    return await deferrer.defer_async(mid=mid)


async def defer_send_outbound(app: procrastinate.App, conn: AsyncConnection,
                              outbound_id: uuid.UUID) -> int:
    deferrer = app.configure_task(SEND_OUTBOUND, queue=QUEUE_OUTBOUND, connection=conn)
    return await deferrer.defer_async(outbound_id=str(outbound_id))
