"""Applies `service/store/sql/migrations/` and procrastinate's schema, idempotently.

Everything runs in one transaction under an advisory lock, so concurrent `ingest migrate`
runs (several release phases at once) apply each migration exactly once. procrastinate's
schema is recorded with its version; after an upgrade of procrastinate, its migration files
since that version are applied (`service.store.procrastinate_schema`).
"""

from __future__ import annotations

import dataclasses
import re
from importlib.resources.abc import Traversable

import psycopg
import structlog
from procrastinate.schema import SchemaManager
from psycopg.rows import dict_row

from service.store import procrastinate_schema, schema_migrations
from service.store.procrastinate_schema import INSTALLED_VERSION
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
        applied_now += _migrate_procrastinate(conn, done)
        for migration in MIGRATIONS:
            if migration.name in done:
                continue
            schema_migrations.apply(conn, migration.name, migration.sql)
            applied_now.append(migration.name)
        # Every time, in the same transaction: a database migrated before is fixed too.
        schema_migrations.lock_out_exposed_roles(conn)
    for name in applied_now:
        log.info("migration applied", migration=name)
    if not applied_now:
        # Said, so that a release step that did nothing is told from one that did not run.
        log.info("schema up to date: nothing to apply", migrations=len(MIGRATIONS))
    return applied_now


def _migrate_procrastinate(
    conn: schema_migrations.SyncConnection, done: dict[str, str | None]
) -> list[str]:
    """Bring procrastinate's schema to the installed version's; returns what was applied."""
    if PROCRASTINATE_SCHEMA not in done:
        if schema_migrations.find_procrastinate(conn):
            # Applied by other means, of a version no one recorded: taken as current.
            schema_migrations.record(conn, PROCRASTINATE_SCHEMA, version=INSTALLED_VERSION)
        else:
            schema = SchemaManager.get_schema()
            schema_migrations.apply(conn, PROCRASTINATE_SCHEMA, schema, version=INSTALLED_VERSION)
        return [f"procrastinate {INSTALLED_VERSION}"]
    recorded = done[PROCRASTINATE_SCHEMA]
    since = (
        procrastinate_schema.parse_version(recorded)
        if recorded
        else procrastinate_schema.UNVERSIONED
    )
    files = procrastinate_schema.files_after(since)
    for file in files:
        schema_migrations.run(conn, file.sql)
    if recorded != INSTALLED_VERSION:
        schema_migrations.set_version(conn, PROCRASTINATE_SCHEMA, INSTALLED_VERSION)
    return [f"procrastinate {file.name}" for file in files]
