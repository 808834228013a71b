"""The `procrastinate_jobs` table, beyond what procrastinate's own job manager does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.core.db import Connection
from service.store.queries import fetch_row, query

_DELETE_SUCCEEDED = query("procrastinate_jobs_delete_succeeded")
_FETCH_MORE = query("procrastinate_jobs_fetch_more")
_FINISH_TAKEN = query("procrastinate_jobs_finish_taken")
_GIVE_BACK = query("procrastinate_jobs_give_back")


async def delete_succeeded(conn: Connection, *, queue: str, task_name: str) -> int:
    """Delete the task's succeeded jobs on `queue`, and their events; returns how many."""
    row = await fetch_row(conn, _DELETE_SUCCEEDED, {"queue": queue, "task_name": task_name})
    return row["deleted"]


async def fetch_more(
    conn: Connection, *, job_id: int, queue: str, count: int
) -> list[tuple[int, dict[str, Any]]]:
    """Up to `count` jobs waiting on `queue`, taken for the worker running job `job_id`:
    (id, arguments) of each, in procrastinate's order. The caller finishes each or gives it
    back."""
    cur = await conn.execute(_FETCH_MORE, {"job_id": job_id, "queue": queue, "count": count})
    return [(row["id"], row["args"]) for row in await cur.fetchall()]


async def finish_taken(conn: Connection, ids: Sequence[int]) -> None:
    """Mark jobs taken by `fetch_more` succeeded."""
    await fetch_row(conn, _FINISH_TAKEN, {"ids": list(ids)})


async def give_back(conn: Connection, ids: Sequence[int]) -> None:
    """Put jobs taken by `fetch_more` back in line, due at once."""
    await fetch_row(conn, _GIVE_BACK, {"ids": list(ids)})
