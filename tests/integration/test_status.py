"""`ingest status` and its queries, against a database seeded with known trouble."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from service.operations import status
from service.operations.thresholds import Thresholds
from service.store.queries import QUERIES
from tests.support import seed
from tests.support.stack import ROOT, run_cli

PSQL_QUERIES = [
    name for name in QUERIES if name.startswith("status_") and name != "status_configure"
]


async def collect(env: dict[str, str], **thresholds) -> dict:
    async with await psycopg.AsyncConnection.connect(
        env["DATABASE_URL"], row_factory=dict_row
    ) as conn:
        return await status.collect(conn, Thresholds(**thresholds), statement_timeout=30)


# The checks about the account (token, subscription, silence): healthy here, where no
# token is stored, no subscription read and no delivery signed (tests/integration/
# test_access_token.py and test_webhook_watchdog.py fail them).
ACCOUNT_CHECKS = {
    "access_token_invalid": True,
    "access_token_expiry": True,
    "unknown_account_events_in_window": True,
    "account_silence_seconds": True,
    "webhook_subscription": True,
    "webhook_silence_seconds": True,
}


def checks(report: dict) -> dict[str, bool]:
    return {check["name"]: check["ok"] for check in report["checks"]}


async def test_status_reports_the_seeded_rows_exactly(env, troubled):
    report = await collect(env)

    assert [(r["queue"], r["task"], r["status"], r["jobs"]) for r in report["jobs"]] == [
        ("messages", "decide_message", "doing", 2),
        ("messages", "decide_message", "todo", 1),
        ("outbound", "send_outbound", "todo", 1),
    ]
    [doing, waiting, scheduled] = report["jobs"]
    assert doing["oldest_todo_seconds"] is None and scheduled["oldest_todo_seconds"] is None
    assert 600 <= waiting["oldest_todo_seconds"] < 660
    assert [(r["kind"], r["status"], r["dms"]) for r in report["outbound"]] == [
        ("acknowledgement", "failed", 1),
        ("acknowledgement", "sent", 1),
    ]
    assert [r["id"] for r in report["outbound_failed"]] == [
        str(troubled["failed"]),
        str(troubled["old_failed"]),
    ]
    assert report["outbound_failed"][0]["recipient_ig_id"] == "user-f"
    assert report["outbound_failed"][0]["attempts"] == 4
    assert report["outbound_failed"][0]["error"] == "TransientGraphError http=500: boom"
    unhandled = report["messages_unhandled"]
    assert unhandled["messages"] == 1 and unhandled["oldest_mid"] == "m-stuck"
    assert [(r["status"], r["items"], r["oldest_message_id"]) for r in report["phase3"]] == [
        ("queued", 1, "m-p3-old")
    ]
    assert 7200 <= report["phase3"][0]["oldest_seconds"] < 7260
    assert [job["id"] for job in report["stalled_jobs"]] == [troubled["stalled"]]

    assert checks(report) == {
        "stalled_jobs": False,
        "oldest_job_wait_seconds": False,
        "unhandled_messages": False,
        "oldest_phase3_seconds": False,
        "failed_dms_in_window": True,
        "oldest_delivery_wait_seconds": True,
        "failed_deliveries_in_window": True,
        "senderless_edits_in_window": True,
        "pending_dms_without_job": True,
        "reconcile_gaps_in_window": True,
        **ACCOUNT_CHECKS,
    }
    assert report["healthy"] is False


async def test_thresholds_change_what_counts(env, troubled):
    report = await collect(
        env,
        window=3 * 3600,
        stalled_after=600,
        unhandled_after=900,
        max_job_wait=3600,
        max_phase3_age=3 * 3600,
        max_failed_dms=1,
        failed_limit=1,
    )
    assert [(r["kind"], r["status"], r["dms"]) for r in report["outbound"]] == [
        ("acknowledgement", "failed", 1),
        ("acknowledgement", "sent", 1),
        ("custom", "failed", 1),
    ]
    assert len(report["outbound_failed"]) == 1
    assert report["stalled_jobs"] == [] and report["messages_unhandled"]["messages"] == 0
    assert checks(report) == {
        "stalled_jobs": True,
        "oldest_job_wait_seconds": True,
        "unhandled_messages": True,
        "oldest_phase3_seconds": True,
        "failed_dms_in_window": False,
        "oldest_delivery_wait_seconds": True,
        "failed_deliveries_in_window": True,
        "senderless_edits_in_window": True,
        "pending_dms_without_job": True,
        "reconcile_gaps_in_window": True,
        **ACCOUNT_CHECKS,
    }


CONFIGURATION_ERROR = (
    "configuration error: HTTP 401 from the ingest endpoint (check INTERNAL_SERVICE_TOKEN:"
    ' web does not take the worker\'s token): {"status_code":401}'
)


async def test_a_failed_delivery_or_one_waiting_too_long_fails_its_check(env, db):
    seed.delivery(db, status="forwarded", minutes_ago=30, attempts=1)
    seed.delivery(db, status="received")
    seed.delivery(db, status="received", minutes_ago=20, attempts=5, error=CONFIGURATION_ERROR)
    seed.delivery(db, status="failed", minutes_ago=90, attempts=13, error="ConnectError: old")
    failed = seed.delivery(db, status="failed", minutes_ago=50, attempts=13, error="ConnectError")

    report = await collect(env)
    assert [
        (r["status"], r["deliveries"], r["in_window"], r["latest_error"])
        for r in report["deliveries"]
    ] == [("failed", 2, 1, "ConnectError"), ("received", 2, 1, CONFIGURATION_ERROR)]
    assert report["deliveries"][0]["latest_id"] == failed
    named = {check["name"]: check for check in report["checks"]}
    waiting = named["oldest_delivery_wait_seconds"]
    assert waiting["ok"] is False and waiting["limit"] == 600
    assert 1200 <= waiting["value"] < 1260 and waiting["detail"] == CONFIGURATION_ERROR
    failures = named["failed_deliveries_in_window"]
    assert (failures["ok"], failures["value"], failures["limit"]) == (False, 1, 0)
    assert failures["detail"] == "ConnectError"
    assert named["stalled_jobs"]["detail"] is None
    assert report["healthy"] is False

    lenient = await collect(env, max_delivery_wait=3600, max_failed_deliveries=1)
    assert lenient["healthy"] is True


async def test_a_pending_dm_that_no_job_will_send_fails_a_check(env, db):
    jobless = seed.outbound(db, status="pending", recipient="user-jobless", minutes_ago=10)
    queued = seed.outbound(db, status="pending", recipient="user-queued", minutes_ago=10)
    db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)"
        " VALUES ('outbound', 'send_outbound', %s, 'todo')",
        (Jsonb({"outbound_id": str(queued)}),),
    )
    # A minute old: a request may still be sending it in-line (send-verification-dm).
    seed.outbound(db, status="pending", recipient="user-fresh", minutes_ago=1)

    report = await collect(env)
    named = {check["name"]: check for check in report["checks"]}
    jobless_check = named["pending_dms_without_job"]
    assert (jobless_check["ok"], jobless_check["value"], jobless_check["limit"]) == (False, 1, 0)
    assert str(jobless) in jobless_check["detail"]
    assert report["healthy"] is False

    assert (await collect(env, jobless_after=3600))["healthy"] is True


@pytest.mark.parametrize("name", PSQL_QUERIES)
def test_status_queries_run_as_they_are_in_psql(name, db, troubled):
    """No placeholders: the text runs on a plain session, as pasted into psql."""
    assert "%(" not in QUERIES[name]
    db.execute(QUERIES[name]).fetchall()


def test_a_session_setting_changes_a_status_querys_parameter(db, troubled):
    assert len(db.execute(QUERIES["status_outbound"]).fetchall()) == 2
    db.execute("SET ingest.status_window = '3 hours'")
    assert len(db.execute(QUERIES["status_outbound"]).fetchall()) == 3


def test_status_command_exits_zero_when_healthy(env):
    result = run_cli(env, "status")
    assert result.returncode == 0, result.stderr
    assert "healthy" in result.stdout and "unhealthy" not in result.stdout


def test_status_command_exits_one_when_unhealthy(env, troubled):
    result = run_cli(env, "status", "--json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is False
    assert [job["id"] for job in report["stalled_jobs"]] == [troubled["stalled"]]
    assert run_cli(env, "status").returncode == 1


def test_status_command_thresholds_are_flags(env, troubled):
    lenient = [
        "--stalled-after",
        "10m",
        "--unhandled-after",
        "15m",
        "--max-job-wait",
        "1h",
        "--max-phase3-age",
        "3h",
    ]
    assert run_cli(env, "status", *lenient).returncode == 0
    assert run_cli(env, "status", *lenient, "--max-failed-dms", "0").returncode == 1
    bad = run_cli(env, "status", "--window", "soon")
    assert bad.returncode == 2 and "'soon' is not a duration" in bad.stderr


def test_status_watch_refreshes_until_stopped(env, troubled):
    process = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli", "status", "--watch", "--json", "--interval", "0.2"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = threading.Timer(60, process.kill)  # a hung read must not hang the suite
    deadline.start()
    try:
        reports = [json.loads(process.stdout.readline()) for _ in range(2)]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 1
    finally:
        deadline.cancel()
        process.kill()
        process.stdout.close()
    assert reports[0]["generated_at"] < reports[1]["generated_at"]
    assert all(report["healthy"] is False for report in reports)


async def test_a_status_query_past_its_time_limit_is_cancelled_for_that_report_only(env, db):
    # A long transaction holds a lock that a status query waits for.
    with psycopg.connect(env["DATABASE_URL"]) as blocker:
        blocker.execute("LOCK TABLE outbound_messages IN ACCESS EXCLUSIVE MODE")
        async with await psycopg.AsyncConnection.connect(
            env["DATABASE_URL"], row_factory=dict_row, autocommit=True
        ) as conn:
            with pytest.raises(psycopg.errors.QueryCanceled):
                async with asyncio.timeout(30):
                    await status.collect(conn, Thresholds(), statement_timeout=0.2)
            cur = await conn.execute("SHOW statement_timeout")
            assert (await cur.fetchone())["statement_timeout"] == "0"


def test_status_command_gives_up_on_a_query_past_its_time_limit(env, db):
    with psycopg.connect(env["DATABASE_URL"]) as blocker:
        blocker.execute("LOCK TABLE outbound_messages IN ACCESS EXCLUSIVE MODE")
        result = run_cli({**env, "STATUS_STATEMENT_TIMEOUT_SECONDS": "0.5"}, "status", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "ingest status: a status query ran past STATUS_STATEMENT_TIMEOUT_SECONDS (0.5 s)"
    )


def test_status_command_says_when_the_database_is_unreachable(env):
    url = psycopg.conninfo.make_conninfo(env["DATABASE_URL"], dbname="no_such_database_here")
    result = run_cli({**env, "DATABASE_URL": url}, "status")
    assert result.returncode == 2
    assert "database unreachable" in result.stderr
