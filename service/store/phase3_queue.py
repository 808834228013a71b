"""The `phase3_queue` table: the hand-off of connected users' messages to Phase 3.

Rows are added by a message's decision (`messages.record_decision`) and withdrawn, or
followed by a deletion notice, when their message is unsent (`withdraw`); the rest is the
consumers' side: listen, claim, extend, complete, fail (the contract of docs/phase3.md),
and retention. Those four calls are the contract's database functions (`phase3_claim_v1`
and its kin, service/store/sql/functions.sql), which consumers in other languages call as
they are. A claim returns each row with a fresh `claim_token` and its message's columns;
extend, complete and fail take effect only while the row still holds that token, and say
whether they did."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection

from service.core.db import Connection
from service.store.queries import fetch_row, query
from service.store.rows import Phase3Item, from_row

_CLAIM = query("phase3_queue_claim", returns=Phase3Item)
_EXTEND = query("phase3_queue_extend")
_COMPLETE = query("phase3_queue_complete")
_FAIL = query("phase3_queue_fail")
_DELETE_DONE = query("phase3_queue_delete_done")
_LISTEN = query("phase3_queue_listen")
_WITHDRAW = query("phase3_queue_withdraw")


async def listen(conn: AsyncConnection[Any]) -> None:
    """Have `conn`, an autocommit connection of its own, notified of each new row."""
    await conn.execute(_LISTEN)


async def claim(
    conn: Connection,
    *,
    consumer: str,
    limit: int,
    visibility_seconds: float,
    max_attempts: int,
) -> list[Phase3Item]:
    """Claim up to `limit` rows, each leased for `visibility_seconds`, with their messages'
    columns; rows that have had `max_attempts` claims become `failed` instead and are not
    returned."""
    cur = await conn.execute(
        _CLAIM,
        {
            "consumer": consumer,
            "limit": limit,
            "visibility_seconds": visibility_seconds,
            "max_attempts": max_attempts,
        },
    )
    return [from_row(Phase3Item, row) for row in await cur.fetchall()]


async def extend(
    conn: Connection, *, item_id: int, claim_token: uuid.UUID, visibility_seconds: float
) -> bool:
    """Renew the claim's lease to `visibility_seconds` from now; False when the row is no
    longer this claim's (another consumer claimed it, or it was completed or failed)."""
    row = await fetch_row(
        conn,
        _EXTEND,
        {"id": item_id, "claim_token": claim_token, "visibility_seconds": visibility_seconds},
    )
    return row["extended"]


async def complete(conn: Connection, *, item_id: int, claim_token: uuid.UUID) -> bool:
    """Mark the row done; False, and nothing changed, when it is no longer this claim's."""
    row = await fetch_row(conn, _COMPLETE, {"id": item_id, "claim_token": claim_token})
    return row["completed"]


async def fail(
    conn: Connection,
    *,
    item_id: int,
    claim_token: uuid.UUID,
    error: str,
    retry_in_seconds: float,
    max_attempts: int,
) -> str | None:
    """Give the row back to be claimed again in `retry_in_seconds`, or fail it once it has
    had `max_attempts`; returns its new status, or None, and nothing changed, when the row
    is no longer this claim's."""
    row = await fetch_row(
        conn,
        _FAIL,
        {
            "id": item_id,
            "claim_token": claim_token,
            "error": error,
            "retry_in_seconds": retry_in_seconds,
            "max_attempts": max_attempts,
        },
    )
    return row["status"]


async def delete_done_before(conn: Connection, *, seconds: float) -> int:
    """Delete rows done more than `seconds` ago; returns how many."""
    row = await fetch_row(conn, _DELETE_DONE, {"seconds": seconds})
    return row["deleted"]


async def withdraw(conn: Connection, mid: str) -> tuple[int, int]:
    """The message was unsent: withdraw its row unless done, and queue a deletion notice if
    a consumer may have worked on it; returns (rows withdrawn, notices queued)."""
    row = await fetch_row(conn, _WITHDRAW, {"mid": mid})
    return row["withdrawn"], row["notices"]
