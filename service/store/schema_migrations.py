"""The `schema_migrations` table that `ingest migrate` keeps."""

from __future__ import annotations

from psycopg import AsyncConnection

from service.store.queries import QUERIES


async def applied(conn: AsyncConnection) -> set[str]:
    cur = await conn.execute(QUERIES["schema_migration_names"])
    return {row["name"] for row in await cur.fetchall()}
