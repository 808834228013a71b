"""The periodic rescue: it keeps out of the job table's history and out of the info log,
and leaves no stalled job behind, even one it cannot put back in the queue."""

from __future__ import annotations

import json

import httpx
import pytest

from service.core import jobs
from tests.e2e.test_operations_http import key, samples
from tests.support import seed
from tests.support.processes import free_port
from tests.support.stack import make_env, wait_until


@pytest.fixture
def env(database_url, sandbox) -> dict[str, str]:
    return make_env(
        database_url=database_url,
        graph_url=sandbox.url,
        WORKER_RESCUE_INTERVAL_SECONDS="1",
        HOST="127.0.0.1",
        WORKER_METRICS_PORT=str(free_port()),
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


def test_a_stalled_job_whose_queueing_lock_a_waiting_sibling_holds_is_failed_and_counted(stack):
    # Putting the stalled job back to `todo` would break the unique index on the queueing
    # lock of `todo` jobs (procrastinate's retry_job raises UniqueViolation): the sibling
    # already waits to do the same work.
    stalled = seed.stalled_job(stack.db, queueing_lock="one-at-a-time")
    sibling = seed.job(stack.db, status="todo", minutes_ago=-60, queueing_lock="one-at-a-time")
    plain = seed.stalled_job(stack.db)

    def status(job_id: int) -> str:
        return stack.rows("SELECT status::text FROM procrastinate_jobs WHERE id = %s", job_id)[0][
            "status"
        ]

    stack.wait(lambda: status(stalled) == "failed", what="the stalled job to be failed")
    assert status(sibling) == "todo"
    stack.wait(lambda: status(plain) != "doing", what="the other stalled job to be rescued")

    def logged() -> dict | None:
        for text in stack.worker.output().splitlines():
            if text.startswith("{"):
                line = json.loads(text)
                if line.get("event") == "failed stalled jobs a waiting job supersedes":
                    return line
        return None

    line = stack.wait(logged, what="the warning")
    assert line["level"] == "warning" and line["jobs"] == [f"decide_message[{stalled}]"]
    port = stack.env["WORKER_METRICS_PORT"]
    worker = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    assert worker[key("ingest_rescue_superseded_jobs_total", task="decide_message")] == 1
