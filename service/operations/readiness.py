"""Readiness: the database answers, and every migration this code ships is applied (its
own, and procrastinate's files up to the installed procrastinate).

A web process that is up but not ready (database down, or a release that has not run
`ingest migrate` yet) should get no traffic; GET /readyz says which it is.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from service.core.db import Pool
from service.store import procrastinate_schema, schema_migrations
from service.store.migrate import MIGRATIONS, PROCRASTINATE_SCHEMA


async def check(pool: Pool, *, timeout: float = 2.0) -> dict[str, object]:
    """{"ready": bool, "detail": str, "missing": [migration names not applied]}."""
    expected = {PROCRASTINATE_SCHEMA, *(migration.name for migration in MIGRATIONS)}
    try:
        async with pool.connection(timeout=timeout) as conn:
            applied = await schema_migrations.applied(conn)
    except psycopg.errors.UndefinedTable:
        return {
            "ready": False,
            "detail": "no schema: run `ingest migrate`",
            "missing": sorted(expected),
        }
    except (psycopg.OperationalError, PoolTimeout):
        return {"ready": False, "detail": "database unreachable", "missing": []}
    missing = sorted(expected - applied.keys())
    if PROCRASTINATE_SCHEMA in applied:
        missing += procrastinate_schema.pending(applied[PROCRASTINATE_SCHEMA])
    if missing:
        return {
            "ready": False,
            "detail": "migrations not applied: run `ingest migrate`",
            "missing": missing,
        }
    return {"ready": True, "detail": "database reachable, migrations current", "missing": []}
