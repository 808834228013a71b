"""Start-up: a process without its settings stops with one clear line (the settings
themselves: tests/unit/test_settings.py); migrations apply once and only once."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from service.store.migrate import MIGRATIONS, migrate
from tests.support.stack import ROOT, TOKEN_KEY


def test_web_and_worker_stop_without_the_service_settings(tmp_path):
    for command in ("web", "worker"):
        result = subprocess.run(
            [sys.executable, "-m", "ingest.cli", command],
            cwd=tmp_path,
            env={"PYTHONPATH": str(ROOT), "DATABASE_URL": "postgresql://x"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2
        lines = result.stderr.splitlines()
        for name in ("INTERNAL_SERVICE_TOKEN", "INSTAGRAM_ACCESS_TOKEN"):
            assert f"ingest {command}: missing required setting {name}" in lines, lines


@pytest.mark.parametrize("command", ["worker", "replay-delivery 1"])
def test_the_worker_stops_without_the_ingest_endpoint_it_forwards_to(command, tmp_path):
    # No default: one pointing at a port of this machine would fail every delivery quietly.
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", *command.split()],
        cwd=tmp_path,
        env={
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": "postgresql://x",
            # Settings production accepts, so that only the ingest endpoint is missing.
            "INTERNAL_SERVICE_TOKEN": "a-service-token-of-at-least-32-characters",
            "INSTAGRAM_ACCESS_TOKEN": "an-access-token",
            "INSTAGRAM_APP_SECRET": "an-app-secret",
            "VERIFY_URL_BASE": "https://reeva.example/verify",
            "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    name = command.split()[0]
    assert result.stderr.strip() == f"ingest {name}: missing required setting INTERNAL_INGEST_URL"


@pytest.mark.parametrize("command", ["web", "worker", "migrate"])
def test_a_process_without_its_settings_stops_naming_each_one_on_a_line(command, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", command],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    [first, *others] = result.stderr.splitlines()
    assert first == f"ingest {command}: missing required setting DATABASE_URL"
    # migrate needs nothing else; web and worker name each other setting they miss.
    assert bool(others) == (command != "migrate")
    assert all(line.startswith(f"ingest {command}: missing required setting ") for line in others)


def test_migrating_again_applies_nothing(database_url):
    assert migrate(database_url) == []
    with psycopg.connect(database_url) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    assert names == {"procrastinate", *(m.name for m in MIGRATIONS)}


# Tables in `public` that are not the app's, so need no row-level security of ours:
# procrastinate's (its schema as it ships, reached only through procrastinate) and the
# migrator's ledger (the names of applied migrations, no one's data).
NOT_APP_TABLES = ("procrastinate_%", "schema_migrations")


def test_rls_is_enabled_on_every_app_table(db):
    """Every table the migrations create, found in the catalog, so a new one is checked too."""
    tables = db.execute(
        "SELECT c.relname, c.relrowsecurity FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        " AND NOT c.relname LIKE ANY(%s) ORDER BY c.relname",
        (list(NOT_APP_TABLES),),
    ).fetchall()
    assert {"messages", "outbound_messages", "webhook_deliveries"} <= {t["relname"] for t in tables}
    assert [t["relname"] for t in tables if not t["relrowsecurity"]] == []


def test_updated_at_follows_updates(db):
    db.execute("INSERT INTO profiles (id) VALUES (gen_random_uuid())")
    before = db.execute("SELECT updated_at FROM profiles").fetchone()["updated_at"]
    db.execute("UPDATE profiles SET email = 'a@example.com'")
    after = db.execute("SELECT updated_at FROM profiles").fetchone()["updated_at"]
    assert after > before


def test_migrate_says_so_when_there_is_nothing_to_apply(database_url, tmp_path):
    # The database is migrated already (the fixture's template is).
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "migrate"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "DATABASE_URL": database_url, "LOG_FORMAT": "console"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    assert "nothing to apply" in output and "migration applied" not in output
