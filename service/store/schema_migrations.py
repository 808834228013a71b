"""The `schema_migrations` table that `ingest migrate` keeps.

`ingest migrate` runs on a plain connection of its own (`psycopg.connect`, dict rows), so
its side is synchronous; readiness reads the table from the pool.
"""

from __future__ import annotations

from psycopg import AsyncConnection, Connection

from service.store.queries import query

_LOCK = query("schema_migrations_lock")
_CREATE = query("schema_migrations_create")
_LIST = query("schema_migrations_list")
_INSERT = query("schema_migrations_insert")
_FIND_PROCRASTINATE = query("schema_migrations_find_procrastinate")


async def applied(conn: AsyncConnection) -> set[str]:
    cur = await conn.execute(_LIST)
    return {row["name"] for row in await cur.fetchall()}


def lock(conn: Connection) -> None:
    """Take the migration lock, held until the transaction ends."""
    conn.execute(_LOCK)


def create(conn: Connection) -> None:
    conn.execute(_CREATE)


def applied_sync(conn: Connection) -> set[str]:
    return {row["name"] for row in conn.execute(_LIST)}


def find_procrastinate(conn: Connection) -> bool:
    """Whether procrastinate's tables exist, recorded here or not."""
    return conn.execute(_FIND_PROCRASTINATE).fetchone()["found"]


def record(conn: Connection, name: str) -> None:
    conn.execute(_INSERT, {"name": name})


def apply(conn: Connection, name: str, sql: str) -> None:
    """Run a migration's SQL and record it as applied, in the caller's transaction."""
    conn.execute(sql)
    record(conn, name)
