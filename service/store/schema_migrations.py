"""The `schema_migrations` table that `ingest migrate` keeps."""

from __future__ import annotations

from psycopg import AsyncConnection

from service.store.queries import query

_LIST = query("schema_migrations_list")


async def applied(conn: AsyncConnection) -> set[str]:
    cur = await conn.execute(_LIST)
    return {row["name"] for row in await cur.fetchall()}
