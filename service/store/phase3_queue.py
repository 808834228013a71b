"""The `phase3_queue` table: the hand-off of connected users' messages to Phase 3.

Rows are added by the processing's decision (`messages.acknowledge`); these are the
consumers' side: listen, claim, complete, fail, and retention."""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection

from service.core.db import Connection
from service.store.queries import fetch_row, query
from service.store.rows import Phase3Item, from_row

_CLAIM = query("phase3_queue_claim")
_COMPLETE = query("phase3_queue_complete")
_FAIL = query("phase3_queue_fail")
_DELETE_DONE = query("phase3_queue_delete_done")
_LISTEN = query("phase3_queue_listen")


async def listen(conn: AsyncConnection[Any]) -> None:
    """Have `conn`, an autocommit connection of its own, notified of each new row."""
    await conn.execute(_LISTEN)


async def claim(
    conn: Connection, *, consumer: str, limit: int, visibility_seconds: float
) -> list[Phase3Item]:
    cur = await conn.execute(
        _CLAIM,
        {
            "consumer": consumer,
            "limit": limit,
            "visibility_seconds": visibility_seconds,
        },
    )
    return [from_row(Phase3Item, row) for row in await cur.fetchall()]


async def complete(conn: Connection, *, item_id: int, consumer: str) -> bool:
    cur = await conn.execute(_COMPLETE, {"id": item_id, "consumer": consumer})
    return await cur.fetchone() is not None


async def fail(
    conn: Connection,
    *,
    item_id: int,
    consumer: str,
    error: str,
    retry_in_seconds: float,
    max_attempts: int,
) -> str | None:
    """Give the row back to be claimed again in `retry_in_seconds`, or fail it once it has
    had `max_attempts`; returns its new status."""
    cur = await conn.execute(
        _FAIL,
        {
            "id": item_id,
            "consumer": consumer,
            "error": error,
            "retry_in_seconds": retry_in_seconds,
            "max_attempts": max_attempts,
        },
    )
    row = await cur.fetchone()
    return None if row is None else row["status"]


async def delete_done_before(conn: Connection, *, seconds: float) -> int:
    """Delete rows done more than `seconds` ago; returns how many."""
    row = await fetch_row(conn, _DELETE_DONE, {"seconds": seconds})
    return row["deleted"]
