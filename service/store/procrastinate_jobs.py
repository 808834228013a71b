"""The `procrastinate_jobs` table, beyond what procrastinate's own job manager does."""

from __future__ import annotations

from psycopg import AsyncConnection

from service.store.queries import fetch_one, query

_DELETE_SUCCEEDED = query("procrastinate_jobs_delete_succeeded")


async def delete_succeeded(conn: AsyncConnection, *, queue: str, task_name: str) -> int:
    """Delete the task's succeeded jobs on `queue`, and their events; returns how many."""
    row = await fetch_one(conn, _DELETE_SUCCEEDED, {"queue": queue, "task_name": task_name})
    assert row is not None  # a count has a row
    return row["deleted"]
