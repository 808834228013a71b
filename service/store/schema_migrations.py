"""The `schema_migrations` table that `ingest migrate` keeps.

`ingest migrate` runs on a plain connection of its own (`psycopg.connect`, dict rows), so
its side is synchronous; readiness reads the table from the pool.
"""

from __future__ import annotations

from typing import TypeAlias

import psycopg
from psycopg.rows import DictRow

from service.core.db import Connection
from service.store.queries import query

# `ingest migrate`'s own connection, with dict rows.
SyncConnection: TypeAlias = psycopg.Connection[DictRow]

_LOCK = query("schema_migrations_lock")
_CREATE = query("schema_migrations_create")
_ADD_VERSION = query("schema_migrations_add_version")
_LIST = query("schema_migrations_list")
_INSERT = query("schema_migrations_insert")
_SET_VERSION = query("schema_migrations_set_version")
_FIND_PROCRASTINATE = query("schema_migrations_find_procrastinate")
_LOCK_OUT_EXPOSED_ROLES = query("privileges_lock_out_exposed_roles")


async def applied(conn: Connection) -> dict[str, str | None]:
    """{name: version} of what is applied; the version is procrastinate's, on its row."""
    cur = await conn.execute(_LIST)
    return {row["name"]: row["version"] for row in await cur.fetchall()}


def lock(conn: SyncConnection) -> None:
    """Take the migration lock, held until the transaction ends."""
    conn.execute(_LOCK)


def create(conn: SyncConnection) -> None:
    conn.execute(_CREATE)
    conn.execute(_ADD_VERSION)


def applied_sync(conn: SyncConnection) -> dict[str, str | None]:
    """{name: version} of what is applied; the version is procrastinate's, on its row."""
    return {row["name"]: row["version"] for row in conn.execute(_LIST)}


def find_procrastinate(conn: SyncConnection) -> bool:
    """Whether procrastinate's tables exist, recorded here or not."""
    row = conn.execute(_FIND_PROCRASTINATE).fetchone()
    return row is not None and row["found"]


def record(conn: SyncConnection, name: str, *, version: str | None = None) -> None:
    conn.execute(_INSERT, {"name": name, "version": version})


def set_version(conn: SyncConnection, name: str, version: str) -> None:
    conn.execute(_SET_VERSION, {"name": name, "version": version})


def run(conn: SyncConnection, sql: str) -> None:
    """Run SQL that is not ours to record by name (one of procrastinate's migration files)."""
    conn.execute(sql)


def apply(conn: SyncConnection, name: str, sql: str, *, version: str | None = None) -> None:
    """Run a migration's SQL and record it as applied, in the caller's transaction."""
    conn.execute(sql)
    record(conn, name, version=version)


def lock_out_exposed_roles(conn: SyncConnection) -> None:
    """Where Supabase's `anon` and `authenticated` exist, take from them (and PUBLIC) every
    privilege on our tables, sequences, functions and types, and enable RLS on our tables;
    a no-op elsewhere, and once done."""
    conn.execute(_LOCK_OUT_EXPOSED_ROLES)
