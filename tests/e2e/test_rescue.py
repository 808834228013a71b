"""The periodic rescue keeps out of the job table's history and out of the info log."""

from __future__ import annotations

import json

import pytest

from service.core import jobs
from tests.support.stack import make_env, wait_until


@pytest.fixture
def env(database_url, sandbox) -> dict[str, str]:
    return make_env(
        database_url=database_url, graph_url=sandbox.url, WORKER_RESCUE_INTERVAL_SECONDS="1"
    )


def test_the_rescue_deletes_its_rows_once_done_and_logs_its_routine_run_at_debug(stack):
    seen: set[int] = set()

    def rescues() -> list[dict]:
        rows = stack.rows(
            "SELECT id, status FROM procrastinate_jobs WHERE task_name = %s",
            jobs.RESCUE_STALLED_JOBS,
        )
        seen.update(row["id"] for row in rows)
        return rows

    def several_ran() -> bool:
        rows = rescues()
        assert sum(row["status"] == "succeeded" for row in rows) <= 1, rows
        return len(seen) >= 4

    wait_until(several_ran, what="several rescues")
    assert not [row for row in rescues() if row["status"] == "failed"]
    lines = [json.loads(t) for t in stack.worker.output().splitlines() if t.startswith("{")]
    assert not [
        line
        for line in lines
        if jobs.RESCUE_STALLED_JOBS in str(line.get("event")) and line["level"] != "debug"
    ]
