"""procrastinate's own worker run once against a database: the proof that its schema is one
the installed procrastinate can work with (workers register, defer, fetch and finish jobs)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import procrastinate
import psycopg


def run_one_job(database_url: str) -> list[int]:
    """Defer one job of a task of its own, run a worker until the queue is empty; returns the
    values the task ran with."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))
    ran: list[int] = []

    @app.task(name="schema_check", queue="schema_check")
    async def schema_check(value: int) -> None:
        ran.append(value)

    async def defer_and_work() -> None:
        async with app.open_async():
            await schema_check.defer_async(value=42)
            await app.run_worker_async(
                queues=["schema_check"], wait=False, install_signal_handlers=False
            )

    asyncio.run(defer_and_work())
    return ran


@contextlib.contextmanager
def database_of_its_own(
    db: psycopg.Connection, database_url: str, suffix: str, *, owner: str | None = None
) -> Iterator[str]:
    """A new empty database beside the test's (owned by `owner`, and reached as that role,
    when given), dropped afterwards; yields its URL."""
    name = f"{db.info.dbname}_{suffix}"
    db.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
    info = psycopg.conninfo.conninfo_to_dict(database_url)
    if owner:
        info = {**info, "user": owner}
    try:
        yield psycopg.conninfo.make_conninfo("", **{**info, "dbname": name})
    finally:
        db.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
