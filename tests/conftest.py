"""Fixtures for every tier but the unit one: a migrated template database cloned per test, the
Graph API sandbox, the app behind a test client (and as a real HTTP server), and real worker
processes."""

from __future__ import annotations

import os

import hypothesis
import psycopg
import pytest
from psycopg.rows import dict_row
from pytest_postgresql import factories

from devtools import embedded_db
from devtools.sandbox import Sandbox
from service.store.migrate import migrate
from tests.support import pg, seed
from tests.support.stack import SCOPED_ID, Stack, make_env

DBNAME = f"ingest_test_{os.getpid()}"
# CI runs the same examples every time, so a red build is reproducible; a developer's runs
# keep exploring.
# No deadline: the examples run beside a real Postgres and worker processes on a loaded
# machine, where a slow example says nothing about the code under test.
hypothesis.settings.register_profile("default", deadline=None)
hypothesis.settings.register_profile("ci", deadline=None, derandomize=True)
hypothesis.settings.load_profile("ci" if os.environ.get("CI") else "default")


UNIT_TIER = os.path.join("tests", "unit", "")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """psycopg's async connections and the service run on asyncio only."""
    return "asyncio"


def pytest_collection_finish(session: pytest.Session) -> None:
    """Find the Postgres server once, and only when a collected test may need it: the unit
    tier runs on a machine without one."""
    if all(UNIT_TIER in str(item.path) for item in session.items):
        return
    try:
        server = pg.find_server()
    except embedded_db.NotInstalled as exc:
        pytest.exit(
            f"no Postgres answers (set TEST_PG_HOST) and {exc}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    session.config.option.postgresql_host = server["host"]
    session.config.option.postgresql_port = server["port"]
    session.config.option.postgresql_user = server["user"]


def load_schema(*, host, port, user, dbname, password=None, **_) -> None:
    """The schema, and the environment's account as the first start of a process records it
    (`SCOPED_ID`), so a test that stores messages without starting one finds it answered."""
    url = pg.url_for(host=host, port=port, user=user, dbname=dbname, password=password)
    migrate(url)
    with psycopg.connect(url, autocommit=True) as conn:
        seed.environment_account(conn, SCOPED_ID)


pg_template = factories.postgresql_noproc(load=[load_schema], dbname=DBNAME)
postgresql = factories.postgresql("pg_template")


@pytest.fixture
def database_url(postgresql: psycopg.Connection) -> str:
    info = postgresql.info
    return pg.url_for(
        host=info.host, port=info.port, user=info.user, dbname=info.dbname, password=info.password
    )


@pytest.fixture
def db(database_url: str):
    """An autocommit connection for assertions and setup, rows as dicts."""
    with psycopg.connect(database_url, autocommit=True, row_factory=dict_row) as conn:
        yield conn


@pytest.fixture(scope="session")
def sandbox_server():
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_server: Sandbox):
    sandbox_server.reset()
    yield sandbox_server
    sandbox_server.latency_seconds = 0.0  # a test may slow it down; the next gets it fast
    sandbox_server.rate_limit_per_second = 0.0


@pytest.fixture
def env(database_url: str, sandbox: Sandbox) -> dict[str, str]:
    return make_env(database_url=database_url, graph_url=sandbox.url)


@pytest.fixture
def stack(env: dict[str, str], sandbox: Sandbox, db):
    """The app (in-process test client) and a real worker process, on this test's database."""
    with Stack(env, sandbox, db) as running:
        yield running


@pytest.fixture
def troubled(db) -> dict[str, object]:
    """One of each problem the checks look for, beside rows that must not count."""
    seed.outbound(db, kind="acknowledgement", status="sent")
    failed = seed.failed_dm(db, kind="acknowledgement", recipient="user-f")
    old_failed = seed.failed_dm(db, kind="custom", recipient="user-old", minutes_ago=120)
    stalled = seed.stalled_job(db, silent_minutes=5)
    seed.job(
        db,
        status="doing",
        worker_id=db.execute(
            "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
        ).fetchone()["id"],
    )
    seed.job(db, status="todo", minutes_ago=10)
    seed.job(db, task="send_outbound", queue="outbound", status="todo", minutes_ago=-10)
    seed.message(db, "m-stuck", minutes_ago=10, decided=False)
    seed.message(db, "m-fresh", decided=False)
    seed.message(db, "m-done", minutes_ago=30)
    seed.phase3_row(db, "m-p3-old", minutes_ago=120)
    seed.phase3_row(db, "m-p3-done", status="done", minutes_ago=60)
    return {"failed": failed, "old_failed": old_failed, "stalled": stalled}


@pytest.fixture
def webhook_stack(env: dict[str, str], sandbox: Sandbox, db):
    """The stack, plus the app as a real HTTP server that the worker forwards deliveries to."""
    with Stack(env, sandbox, db, live_server=True) as running:
        yield running


@pytest.fixture
def api(env: dict[str, str], sandbox: Sandbox, db):
    """The app behind the test client, no worker: for what happens before any job runs."""
    with Stack(env, sandbox, db, worker=False) as running:
        yield running
