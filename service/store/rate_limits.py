"""The `graph_rate_limits` table: Instagram accounts holding their sends after a rate limit."""

from __future__ import annotations

from psycopg import AsyncConnection

from service.db import fetch_one
from service.queries import QUERIES


async def remaining_seconds(conn: AsyncConnection, scoped_id: str) -> float:
    row = await fetch_one(conn, QUERIES["graph_rate_limit_remaining"], {"scoped_id": scoped_id})
    return float(row["seconds"])


async def extend(conn: AsyncConnection, scoped_id: str, *, seconds: float, error: str) -> None:
    await conn.execute(QUERIES["graph_rate_limit_extend"],
                       {"scoped_id": scoped_id, "seconds": seconds, "error": error})
