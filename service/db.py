"""Connections: one async psycopg pool per process, shared with procrastinate."""

from __future__ import annotations

import psycopg
from procrastinate.exceptions import ConnectorException
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
        # While the database is down, callers fail after this wait (web answers 503)
        # instead of queueing for the pool's default 30 s.
        timeout=settings.db_pool_timeout_seconds,
        open=False,
        name="ingest",
    )


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (down, restarting, connection
    killed, pool exhausted), as opposed to a query the database refused.

    procrastinate raises its own `ConnectorException` with the psycopg error as cause;
    psycopg_pool's errors are `OperationalError`s.
    """
    if isinstance(exc, ConnectorException):
        exc = exc.__cause__ or exc
    return isinstance(exc, psycopg.OperationalError)


async def fetch_one(conn: AsyncConnection, query: str, params: dict) -> dict | None:
    cur = await conn.execute(query, params)
    return await cur.fetchone()
