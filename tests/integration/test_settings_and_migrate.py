"""Start-up: a process without its settings stops with one clear line (the settings
themselves: tests/unit/test_settings.py); migrations apply once and only once."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from service.core.migrate import migrate, migration_files
from tests.support.stack import ROOT


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
        assert result.stderr.strip() == (
            f"ingest {command}: missing required setting INTERNAL_SERVICE_TOKEN"
        )


@pytest.mark.parametrize("command", ["web", "worker", "migrate"])
def test_a_process_without_its_settings_stops_with_one_line(command, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", command],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"ingest {command}: missing required setting DATABASE_URL"


def test_migrating_again_applies_nothing(database_url):
    assert migrate(database_url) == []
    with psycopg.connect(database_url) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    assert names == {"procrastinate", *(p.stem for p in migration_files())}


def test_rls_is_enabled_on_every_app_table(db):
    rows = db.execute(
        "SELECT relname, relrowsecurity FROM pg_class WHERE relname = ANY(%s)",
        (
            [
                "profiles",
                "instagram_profiles",
                "messages",
                "verification_tokens",
                "outbound_messages",
                "phase3_queue",
            ],
        ),
    ).fetchall()
    assert len(rows) == 6 and all(r["relrowsecurity"] for r in rows)


def test_updated_at_follows_updates(db):
    db.execute("INSERT INTO profiles (id) VALUES (gen_random_uuid())")
    before = db.execute("SELECT updated_at FROM profiles").fetchone()["updated_at"]
    db.execute("UPDATE profiles SET email = 'a@example.com'")
    after = db.execute("SELECT updated_at FROM profiles").fetchone()["updated_at"]
    assert after > before
