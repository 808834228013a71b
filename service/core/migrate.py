"""Applies `service/store/sql/migrations/` and procrastinate's schema, idempotently.

Everything runs in one transaction under an advisory lock, so concurrent `ingest migrate`
runs (several release phases at once) apply each migration exactly once.
"""

from __future__ import annotations

import dataclasses
import re
from importlib.resources.abc import Traversable

import psycopg
import structlog
from procrastinate import __version__ as procrastinate_version
from procrastinate.schema import SchemaManager
from psycopg.rows import dict_row

from service.store import schema_migrations
from service.store.queries import SQL_DIR, MissingSQL, sql_files

log = structlog.get_logger(__name__)
MIGRATIONS_DIR = SQL_DIR / "migrations"
# How schema_migrations records procrastinate's own schema.
PROCRASTINATE_SCHEMA = "procrastinate"
_MIGRATION_FILE = re.compile(r"^(\d{4}_\w+)\.sql$")


@dataclasses.dataclass(frozen=True)
class Migration:
    name: str  # its file's name without `.sql`, as schema_migrations records it
    sql: str


def load_migrations(directory: Traversable = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations of `directory` in order; `MissingSQL` when there are none."""
    migrations = [
        Migration(match[1], path.read_text(encoding="utf-8"))
        for path in sql_files(directory)
        if (match := _MIGRATION_FILE.match(path.name))
    ]
    if not migrations:
        raise MissingSQL(f"no migrations in {directory}")
    return migrations


# Without its migrations, a process would find every database current: refuse to start.
MIGRATIONS = load_migrations()


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
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            schema_migrations.apply(conn, migration.name, migration.sql)
            applied_now.append(migration.name)
        # Every time, in the same transaction: a database migrated before is fixed too.
        schema_migrations.lock_out_exposed_roles(conn)
    for name in applied_now:
        log.info("migration applied", migration=name)
    return applied_now
