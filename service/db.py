"""Connections: one async psycopg pool per process, shared with procrastinate."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from service.settings import Settings


def make_pool(settings: Settings, *, min_size: int | None = None,
              max_size: int | None = None) -> AsyncConnectionPool:
    """A closed pool; open it with `await pool.open(wait=True)` to fail fast at start."""
    return AsyncConnectionPool(
        settings.database_url,
        min_size=min_size or settings.db_pool_min_size,
        max_size=max_size or settings.db_pool_max_size,
        kwargs={"row_factory": dict_row},
        # A connection broken by a Postgres restart is found and replaced on checkout.
        check=AsyncConnectionPool.check_connection,
        open=False,
        name="ingest",
    )


async def fetch_one(conn: AsyncConnection, query: str, params: dict) -> dict | None:
    cur = await conn.execute(query, params)
    return await cur.fetchone()
