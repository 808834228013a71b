"""The `graph_rate_limits` table: how long each account's sends are held by a rate limit.
The holds are written and honoured by `outbound_messages`' begin and record statements."""

from __future__ import annotations

from service.core.db import Connection
from service.store.queries import fetch_row, query

_HOLD = query("graph_rate_limits_hold")


async def hold_seconds(conn: Connection, scoped_id: str) -> float:
    """Seconds left of the account's hold; 0 when none."""
    row = await fetch_row(conn, _HOLD, {"scoped_id": scoped_id})
    return row["seconds"]
