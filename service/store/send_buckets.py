"""The `graph_send_buckets` table: each account's token bucket of Graph API sends."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from collections.abc import Sequence
from typing import Any

from service.core.db import Connection
from service.store.queries import fetch_each, fetch_row, query

_TAKE = query("graph_send_buckets_take")
_TAKE_PLAIN = query("graph_send_buckets_take_plain")


@dataclasses.dataclass(frozen=True)
class Take:
    """Whether a send may go now and, if not, how long until its turn."""

    admitted: bool
    wait_seconds: float
    taken_at: datetime.datetime | None
    turn_at: datetime.datetime | None = None


async def take(
    conn: Connection,
    scoped_id: str,
    *,
    rate: float,
    burst: int,
    need: float = 1.0,
    queue: bool = False,
    dm_id: uuid.UUID | None = None,
    late_seconds: float = 0.0,
) -> Take:
    """Take one send from the account's bucket for DM `dm_id`, or give the DM its turn
    (see the query for the arithmetic, the line, and what `queue` and `late_seconds` do)."""
    params = _take_params(scoped_id, rate, burst, need, queue, dm_id, late_seconds)
    row = await fetch_row(conn, _TAKE, params)
    return _take(row)


async def take_each(
    conn: Connection,
    scoped_id: str,
    dm_ids: Sequence[uuid.UUID],
    *,
    rate: float,
    burst: int,
    need: float,
    queue: bool,
    late_seconds: float,
) -> list[Take]:
    """`take` for each of several DMs of one account, in order, sent together."""
    params = [
        _take_params(scoped_id, rate, burst, need, queue, dm_id, late_seconds) for dm_id in dm_ids
    ]
    return [_take(row) for row in await fetch_each(conn, _TAKE, params) if row is not None]


def _take_params(
    scoped_id: str,
    rate: float,
    burst: int,
    need: float,
    queue: bool,
    dm_id: uuid.UUID | None,
    late_seconds: float,
) -> dict[str, Any]:
    return {
        "scoped_id": scoped_id,
        "rate": rate,
        "burst": burst,
        "need": need,
        "queue": queue,
        "dm_id": dm_id,
        "late_seconds": late_seconds,
    }


def _take(row: Any) -> Take:
    return Take(
        bool(row["admitted"]),
        max(0.0, float(row["wait_seconds"])),
        row["taken_at"],
        row["turn_at"],
    )


async def take_plain(conn: Connection, key: str, *, rate: float, burst: int) -> Take:
    """Take one call from bucket `key`, with no line: when it is empty, the wait until it
    holds one (see the query)."""
    row = await fetch_row(conn, _TAKE_PLAIN, {"scoped_id": key, "rate": rate, "burst": burst})
    return Take(bool(row["admitted"]), max(0.0, float(row["wait_seconds"])), row["taken_at"])
