"""Applies `service/store/sql/migrations/` and procrastinate's schema, idempotently.

Everything runs in one transaction under an advisory lock, so concurrent `ingest migrate`
runs (several release phases at once) apply each migration exactly once.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import structlog
from procrastinate.schema import SchemaManager
from procrastinate import __version__ as procrastinate_version

from service.store.queries import SQL_DIR

log = structlog.get_logger(__name__)
MIGRATIONS_DIR = SQL_DIR / "migrations"
_LOCK_KEY = 7_263_114_001  # any constant; names this project's migration lock
# How schema_migrations records procrastinate's own schema.
PROCRASTINATE_SCHEMA = "procrastinate"


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    return sorted(directory.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def migrate(database_url: str) -> list[str]:
    """Apply what is missing; returns the names applied now."""
    applied_now: list[str] = []
    with psycopg.connect(database_url) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
        if PROCRASTINATE_SCHEMA not in done:
            if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0] is None:
                conn.execute(SchemaManager.get_schema())
            conn.execute(
                "INSERT INTO schema_migrations (name) VALUES (%s)", (PROCRASTINATE_SCHEMA,)
            )
            applied_now.append(f"procrastinate {procrastinate_version}")
        for path in migration_files():
            if path.stem in done:
                continue
            conn.execute(path.read_text(encoding="utf-8"))
            conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (path.stem,))
            applied_now.append(path.stem)
    for name in applied_now:
        log.info("migration applied", migration=name)
    return applied_now
