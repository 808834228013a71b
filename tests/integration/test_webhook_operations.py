"""Running deliveries: retries while the ingest endpoint is down, replaying a stored
delivery from the command line, and retention."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from psycopg.types.json import Jsonb

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.http.app import create_app
from service.operations.retention import purge_forwarded_deliveries
from tests.support.live_server import LiveServer
from tests.support.meta_payloads import delivery, entry, message_item
from tests.support.processes import start_worker
from tests.support.stack import ROOT, SERVICE_TOKEN, Stack, run_cli, wait_until


def test_a_delivery_fails_after_its_retries_and_a_replay_forwards_it(env, sandbox, db):
    endpoint = LiveServer()  # bound but not yet listening: connections are refused
    env = {
        **env,
        "INTERNAL_INGEST_URL": f"{endpoint.url}/api/internal/ingest-event",
        "FORWARD_MAX_RETRIES": "2",
    }
    with Stack(env, sandbox, db) as stack:
        delivery_id = stack.deliver(delivery(entry(message_item("mid.1", text="hi")))).json()[
            "delivery_id"
        ]
        row = stack.delivery_settled(delivery_id)
        assert row["status"] == "failed" and row["attempts"] == 3
        assert "ConnectError" in row["last_error"] and row["messages_forwarded"] == 0
        assert stack.rows("SELECT * FROM messages") == []

        endpoint.start(create_app(stack.settings), wait_until=wait_until)
        try:
            replay = subprocess.run(
                [sys.executable, "-m", "ingest.cli", "replay-delivery", str(delivery_id)],
                cwd=ROOT,
                env={**os.environ, **env},
                capture_output=True,
                text=True,
                timeout=120,
            )
        finally:
            endpoint.stop()
        assert replay.returncode == 0, replay.stderr
        assert replay.stdout.strip() == f"delivery {delivery_id}: forwarded, 1 messages forwarded"
        [row] = stack.rows("SELECT * FROM webhook_deliveries")
        assert row["status"] == "forwarded" and row["attempts"] == 4 and row["last_error"] is None
        [dm] = stack.outbound_settled(1)
        assert dm["status"] == "sent"


def test_failed_deliveries_are_replayed_in_bulk_with_a_fresh_budget(env, sandbox, db):
    endpoint = LiveServer()  # bound but not yet listening: connections are refused
    env = {
        **env,
        "INTERNAL_INGEST_URL": f"{endpoint.url}/api/internal/ingest-event",
        "FORWARD_MAX_RETRIES": "1",
    }
    with Stack(env, sandbox, db) as stack:
        ids = [
            stack.deliver(delivery(entry(message_item(f"mid.bulk{n}", text="hi")))).json()[
                "delivery_id"
            ]
            for n in range(3)
        ]
        assert all(stack.delivery_settled(i)["status"] == "failed" for i in ids)
        old = ids[0]
        db.execute(
            "UPDATE webhook_deliveries SET last_attempt_at = now() - interval '3 hours'"
            " WHERE id = %s",
            (old,),
        )
        endpoint.start(create_app(stack.settings), wait_until=wait_until)
        try:
            dry = run_cli(
                env, "replay-delivery", "--status", "failed", "--since", "2h", "--dry-run"
            )
            assert dry.returncode == 0, dry.stderr
            assert dry.stdout.strip() == "2 failed deliveries would be re-queued (dry run)"
            assert {r["status"] for r in stack.rows("SELECT * FROM webhook_deliveries")} == {
                "failed"
            }

            bulk = run_cli(env, "replay-delivery", "--status", "failed", "--since", "2h")
            assert bulk.returncode == 0, bulk.stderr
            assert bulk.stdout.strip() == "2 failed deliveries re-queued"
            for delivery_id in ids[1:]:
                row = stack.delivery_settled(delivery_id)
                assert (row["status"], row["attempts"], row["retry_base"]) == ("forwarded", 3, 2)
            for mid in ("mid.bulk1", "mid.bulk2"):
                stack.wait_decided(mid)
        finally:
            endpoint.stop()
        [left] = stack.rows("SELECT * FROM webhook_deliveries WHERE status = 'failed'")
        assert left["id"] == old
        assert sorted(r["id"] for r in stack.rows("SELECT id FROM messages")) == [
            "mid.bulk1",
            "mid.bulk2",
        ]


def test_replay_delivery_takes_an_id_or_a_status_not_both(env):
    for args in ([], ["7", "--status", "failed"], ["7", "--since", "2h"]):
        result = run_cli(env, "replay-delivery", *args)
        assert result.returncode == 2, (args, result.stdout)
        assert "replay-delivery" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize(
    ("mistake", "setting", "status"),
    [
        ("a path that is not the endpoint's", "INTERNAL_INGEST_URL", 404),
        ("a token that web does not take", "INTERNAL_SERVICE_TOKEN", 401),
    ],
)
def test_an_endpoint_that_refuses_the_worker_is_a_configuration_error_retried_like_an_outage(
    mistake, setting, status, env, sandbox, db
):
    endpoint = LiveServer()
    web_env, url = env, f"{endpoint.url}/api/internal/ingest-event"
    if setting == "INTERNAL_INGEST_URL":
        url = f"{endpoint.url}/api/internal/ingest"
    else:
        web_env = {**env, "INTERNAL_SERVICE_TOKEN": "another-service-token-0123456789"}
    env = {**env, "INTERNAL_INGEST_URL": url, "FORWARD_MAX_RETRIES": "2"}
    endpoint.start(create_app(Settings.from_mapping(web_env)), wait_until=wait_until)
    try:
        with Stack(env, sandbox, db) as stack:
            response = stack.deliver(delivery(entry(message_item("mid.1", text="hi"))))
            row = stack.delivery_settled(response.json()["delivery_id"])
            report = stack.client.get(
                "/api/internal/status", headers={"x-service-token": SERVICE_TOKEN}
            ).json()
    finally:
        endpoint.stop()

    assert row["status"] == "failed" and row["attempts"] == 3, mistake  # retried, not refused
    assert row["last_error"].startswith(f"configuration error: HTTP {status} "), row["last_error"]
    assert setting in row["last_error"]
    [check] = [c for c in report["checks"] if c["name"] == "failed_deliveries_in_window"]
    assert check["ok"] is False and check["detail"] == row["last_error"]


def test_a_delivery_whose_job_failed_for_good_is_found_by_the_sweep_and_forwarded(env, sandbox, db):
    env = {**env, "WORKER_RESCUE_INTERVAL_SECONDS": "1"}
    with Stack(env, sandbox, db, worker=False, live_server=True) as stack:
        lost = stack.deliver(delivery(entry(message_item("mid.lost", text="hi")))).json()
        kept = stack.deliver(delivery(entry(message_item("mid.kept", text="hi")))).json()
        # The first one's job gave up (an error retried until its budget ran out), before
        # any attempt was recorded: nothing would run it again.
        db.execute(
            "UPDATE procrastinate_jobs SET status = 'failed', attempts = 8 WHERE args = %s",
            (Jsonb({"delivery_id": lost["delivery_id"]}),),
        )
        stack.worker = start_worker(stack.env, db)
        for delivery_id in (lost["delivery_id"], kept["delivery_id"]):
            assert stack.delivery_settled(delivery_id)["status"] == "forwarded"

        def jobs() -> list[tuple[int, str]]:
            rows = stack.rows(
                "SELECT args->>'delivery_id' AS delivery, status::text FROM procrastinate_jobs"
                " WHERE task_name = 'forward_delivery' ORDER BY id"
            )
            return [(int(job["delivery"]), job["status"]) for job in rows]

        # The delivery row is settled a moment before its job's row is finished.
        expected = [
            (lost["delivery_id"], "failed"),
            (kept["delivery_id"], "succeeded"),
            (lost["delivery_id"], "succeeded"),
        ]
        wait_until(lambda: jobs() == expected, timeout=30)
        assert jobs() == expected
    stack.wait_decided("mid.lost")


def test_replaying_a_delivery_that_does_not_exist_fails_with_one_line(env):
    replay = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "replay-delivery", "424242"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert replay.returncode == 1
    assert replay.stderr.strip().splitlines()[-1] == "no webhook delivery 424242"


async def purge(settings: Settings) -> int:
    async with open_runtime(settings, pool_max_size=2) as rt:
        return await purge_forwarded_deliveries(rt)


async def test_retention_deletes_only_forwarded_deliveries_older_than_its_days(api, db):
    ids = [
        api.deliver(delivery(entry(message_item(f"mid.{n}")))).json()["delivery_id"]
        for n in range(3)
    ]
    aged = {ids[0]: ("forwarded", 31), ids[1]: ("forwarded", 29), ids[2]: ("failed", 90)}
    for delivery_id, (status, days) in aged.items():
        db.execute(
            "UPDATE webhook_deliveries SET status = %s, "
            "last_attempt_at = now() - make_interval(days => %s) WHERE id = %s",
            (status, days, delivery_id),
        )

    assert await purge(Settings.from_mapping({**api.env, "WEBHOOK_RETENTION_DAYS": "0"})) == 0
    assert await purge(api.settings) == 1
    left = api.rows("SELECT id FROM webhook_deliveries ORDER BY id")
    assert [row["id"] for row in left] == ids[1:]
