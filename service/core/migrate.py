"""Applies `service/store/sql/migrations/` and procrastinate's schema, idempotently.

Everything runs in one transaction under an advisory lock, so concurrent `ingest migrate`
runs (several release phases at once) apply each migration exactly once.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import structlog
from procrastinate import __version__ as procrastinate_version
from procrastinate.schema import SchemaManager
from psycopg.rows import dict_row

from service.store import schema_migrations
from service.store.queries import SQL_DIR, MissingSQL

log = structlog.get_logger(__name__)
MIGRATIONS_DIR = SQL_DIR / "migrations"
# How schema_migrations records procrastinate's own schema.
PROCRASTINATE_SCHEMA = "procrastinate"


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    files = sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))
    if not files:
        raise MissingSQL(f"no migrations in {directory}")
    return files


# Without its migrations, a process would find every database current: refuse to start.
migration_files()


def migrate(database_url: str) -> list[str]:
    """Apply what is missing; returns the names applied now."""
    applied_now: list[str] = []
    with psycopg.connect(database_url, row_factory=dict_row) as conn, conn.transaction():
        schema_migrations.lock(conn)
        schema_migrations.create(conn)
        done = schema_migrations.applied_sync(conn)
        if PROCRASTINATE_SCHEMA not in done:
            if schema_migrations.find_procrastinate(conn):
                schema_migrations.record(conn, PROCRASTINATE_SCHEMA)
            else:
                schema_migrations.apply(conn, PROCRASTINATE_SCHEMA, SchemaManager.get_schema())
            applied_now.append(f"procrastinate {procrastinate_version}")
        for path in migration_files():
            if path.stem in done:
                continue
            schema_migrations.apply(conn, path.stem, path.read_text(encoding="utf-8"))
            applied_now.append(path.stem)
    for name in applied_now:
        log.info("migration applied", migration=name)
    return applied_now
