"""The `graph_send_buckets` table: each account's token bucket of Graph API sends."""

from __future__ import annotations

import dataclasses
import datetime
import uuid

from service.core.db import Connection
from service.store.queries import fetch_row, query

_TAKE = query("graph_send_buckets_take")


@dataclasses.dataclass(frozen=True)
class Take:
    """Whether a send may go now and, if not, how long to wait before asking again."""

    admitted: bool
    wait_seconds: float
    taken_at: datetime.datetime


async def take(
    conn: Connection,
    scoped_id: str,
    *,
    rate: float,
    burst: int,
    need: float = 1.0,
    queue: bool = False,
    dm_id: uuid.UUID | None = None,
) -> Take:
    """Take one send from the account's bucket for DM `dm_id` (see the query for the
    arithmetic, and for the line that `queue` joins)."""
    row = await fetch_row(
        conn,
        _TAKE,
        {
            "scoped_id": scoped_id,
            "rate": rate,
            "burst": burst,
            "need": need,
            "queue": queue,
            "dm_id": dm_id,
        },
    )
    return Take(bool(row["admitted"]), max(0.0, float(row["wait_seconds"])), row["taken_at"])
