"""The `procrastinate_jobs` table, beyond what procrastinate's own job manager does."""

from __future__ import annotations

from service.core.db import Connection
from service.store.queries import fetch_row, query

_DELETE_SUCCEEDED = query("procrastinate_jobs_delete_succeeded")


async def delete_succeeded(conn: Connection, *, queue: str, task_name: str) -> int:
    """Delete the task's succeeded jobs on `queue`, and their events; returns how many."""
    row = await fetch_row(conn, _DELETE_SUCCEEDED, {"queue": queue, "task_name": task_name})
    return row["deleted"]
