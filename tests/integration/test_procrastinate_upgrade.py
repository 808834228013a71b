"""Upgrades of procrastinate: a database whose recorded procrastinate schema is older than the
installed procrastinate gets procrastinate's own migration files (those after the recorded
version, up to the installed one) on `ingest migrate`, ends with the schema a new database
gets, and its workers run."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources

import procrastinate
import psycopg
import pytest
from psycopg.rows import dict_row

from service.store import schema_migrations
from service.store.migrate import MIGRATIONS, migrate
from service.store.procrastinate_schema import NewerThanInstalled
from tests.support.queue import database_of_its_own, run_one_job

OLD = "3.0.0"
FILES = resources.files("procrastinate.sql") / "migrations"


def build_schema_as_of(url: str, version: str) -> None:
    """procrastinate's schema as that version shipped it: its first migration and every file
    up to that version's, in order, each committed (an enum value a file adds can be used
    only once committed)."""
    padded = ".".join(f"{int(part):02d}" for part in version.split("."))
    names = sorted(f.name for f in FILES.iterdir() if f.name.endswith(".sql"))
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names:
            if name[:8] <= padded:
                conn.execute((FILES / name).read_text(encoding="utf-8"))


@pytest.fixture
def older_database(db, database_url: str) -> Iterator[str]:
    """A database migrated while procrastinate 3.0.0 was installed."""
    with database_of_its_own(db, database_url, "old_queue") as url:
        build_schema_as_of(url, OLD)
        with psycopg.connect(url, row_factory=dict_row) as conn, conn.transaction():
            schema_migrations.create(conn)
            schema_migrations.record(conn, "procrastinate", version=OLD)
        yield url


def shape(url: str) -> dict[str, list]:
    """What procrastinate's code relies on: its columns, functions and types."""
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name LIKE 'procrastinate%'"
            " ORDER BY 1, 2"
        ).fetchall()
        functions = conn.execute(
            "SELECT p.oid::regprocedure::text, pg_get_function_result(p.oid)"
            " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
            " WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate%' ORDER BY 1"
        ).fetchall()
        enums = conn.execute(
            "SELECT t.typname, e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid"
            " ORDER BY 1, 2"
        ).fetchall()
    return {"columns": columns, "functions": functions, "enums": enums}


def recorded_version(url: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT version FROM schema_migrations WHERE name = 'procrastinate'"
        ).fetchone()
    return row[0] if row else None


def test_an_older_procrastinate_schema_gets_the_newer_files_and_its_workers_run(
    older_database, database_url
):
    applied = migrate(older_database)
    assert "procrastinate 03.01.00_01_pre_add_heartbeat" in applied
    assert recorded_version(older_database) == procrastinate.__version__
    assert shape(older_database) == shape(database_url)  # as a new database has it
    assert run_one_job(older_database) == [42]
    assert migrate(older_database) == []


def test_a_row_recorded_without_a_version_is_taken_as_3_8_and_gets_the_installed_one(
    database_url, db
):
    # Recorded by earlier code, which applied the schema of procrastinate 3.8 or later.
    db.execute("UPDATE schema_migrations SET version = NULL WHERE name = 'procrastinate'")
    assert migrate(database_url) == []
    assert recorded_version(database_url) == procrastinate.__version__


def test_a_schema_of_a_newer_procrastinate_stops_migrate_and_changes_nothing(database_url, db):
    db.execute("UPDATE schema_migrations SET version = '99.0.0' WHERE name = 'procrastinate'")
    db.execute("DELETE FROM schema_migrations WHERE name = %s", (MIGRATIONS[-1].name,))
    with pytest.raises(NewerThanInstalled, match="99.0.0"):
        migrate(database_url)
    assert recorded_version(database_url) == "99.0.0"
    assert MIGRATIONS[-1].name not in {
        row["name"] for row in db.execute("SELECT name FROM schema_migrations")
    }
