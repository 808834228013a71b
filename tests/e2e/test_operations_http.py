"""The operators' endpoints: probes, the status report, one DM's row, /metrics."""

from __future__ import annotations

import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.instagram import account_api
from service.store.migrate import MIGRATIONS
from tests.support import seed
from tests.support.processes import free_port, wait_until
from tests.support.stack import SCOPED_ID, SCRAPE, SERVICE_TOKEN, Stack

TOKEN = {"x-service-token": SERVICE_TOKEN}


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{key(sample name, labels): value} of a Prometheus text page."""
    return {
        key(sample.name, **sample.labels): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, frozenset]:
    return name, frozenset(labels.items())


def test_healthz_answers_without_the_database(api):
    response = api.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_when_migrations_are_current(api):
    response = api.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "detail": "database reachable, migrations current",
        "missing": [],
    }


def test_readyz_is_503_when_a_migration_is_missing(api, db):
    newest = MIGRATIONS[-1].name
    db.execute("DELETE FROM schema_migrations WHERE name = %s", (newest,))
    response = api.client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "ready": False,
        "detail": "migrations not applied: run `ingest migrate`",
        "missing": [newest],
    }


def test_readyz_is_503_while_procrastinate_files_are_missing(api, db):
    # Recorded before an upgrade of procrastinate: its newer files are not applied yet.
    db.execute("UPDATE schema_migrations SET version = '3.0.0' WHERE name = 'procrastinate'")
    response = api.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["detail"] == "migrations not applied: run `ingest migrate`"
    assert "procrastinate 03.01.00_01_pre_add_heartbeat" in response.json()["missing"]


def test_status_endpoint_needs_the_service_token(api):
    assert api.client.get("/api/internal/status").status_code == 401
    assert (
        api.client.get("/api/internal/status", headers={"x-service-token": "wrong"}).status_code
        == 401
    )


def test_status_endpoint_reports_what_the_command_does(api, troubled):
    report = api.client.get("/api/internal/status", headers=TOKEN).json()
    assert report["healthy"] is False
    assert [job["id"] for job in report["stalled_jobs"]] == [troubled["stalled"]]
    assert report["messages_unhandled"]["messages"] == 1
    lenient = api.client.get(
        "/api/internal/status",
        headers=TOKEN,
        params={
            "stalled_after": "10m",
            "unhandled_after": "15m",
            "max_job_wait": "1h",
            "max_phase3_age": "3h",
            "window": "3h",
        },
    ).json()
    assert lenient["healthy"] is True
    assert sum(row["dms"] for row in lenient["outbound"]) == 3
    bad = api.client.get("/api/internal/status", headers=TOKEN, params={"max_failed_dms": "many"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("max_failed_dms:")


def test_outbound_endpoint_returns_one_dm(api, db):
    dm_id = seed.failed_dm(db, kind="custom", recipient="user-x")
    response = api.client.get(f"/api/internal/outbound/{dm_id}", headers=TOKEN)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(dm_id) and body["recipient_ig_id"] == "user-x"
    assert (body["kind"], body["status"], body["attempts"], body["retry_base"]) == (
        "custom",
        "failed",
        4,
        0,
    )
    assert body["error"] == "TransientGraphError http=500: boom"
    assert body["payload"] == {"text": "hi"}


def test_outbound_endpoint_404_and_400(api):
    missing = api.client.get(f"/api/internal/outbound/{uuid.uuid4()}", headers=TOKEN)
    assert missing.status_code == 404 and "no outbound message" in missing.json()["detail"]
    malformed = api.client.get("/api/internal/outbound/not-a-uuid", headers=TOKEN)
    assert malformed.status_code == 400
    assert malformed.json()["detail"] == "the outbound id must be a UUID"
    assert api.client.get(f"/api/internal/outbound/{uuid.uuid4()}").status_code == 401


@pytest.fixture
def env(env):
    """Workers in these tests serve their own metrics."""
    return {**env, "HOST": "127.0.0.1", "WORKER_METRICS_PORT": str(free_port())}


def test_metrics_is_not_served_without_a_metrics_token(env, sandbox, db):
    env = {name: value for name, value in env.items() if name != "METRICS_TOKEN"}
    with Stack(env, sandbox, db, worker=False) as stack:
        response = stack.client.get("/metrics", headers=SCRAPE)
    assert response.status_code == 404


def test_metrics_needs_the_metrics_token_as_a_bearer_token(api):
    for headers in (
        {},
        {"authorization": "Bearer wrong-token"},
        {"authorization": SCRAPE["authorization"].removeprefix("Bearer ")},
        {"x-service-token": SERVICE_TOKEN},
    ):
        refused = api.client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["status_code"] == 401
        assert "ingest_status_up" not in refused.text
    page = samples(api.client.get("/metrics", headers=SCRAPE).text)
    assert page[key("ingest_status_up")] == 1


def test_the_status_gauges_are_read_at_most_once_per_cache_period(env, sandbox, db):
    dm = key("ingest_dms_in_window", kind="custom", status="failed")
    with Stack({**env, "METRICS_CACHE_SECONDS": "3600"}, sandbox, db, worker=False) as stack:
        first = samples(stack.client.get("/metrics", headers=SCRAPE).text)
        seed.failed_dm(db, kind="custom")
        second = samples(stack.client.get("/metrics", headers=SCRAPE).text)
    assert dm not in first and dm not in second
    with Stack(env, sandbox, db, worker=False) as stack:  # METRICS_CACHE_SECONDS=0
        assert samples(stack.client.get("/metrics", headers=SCRAPE).text)[dm] == 1


def test_a_failed_delivery_shows_in_the_gauges(api, db):
    seed.delivery(db, status="failed", attempts=13, error="ConnectError")
    seed.delivery(db, status="received", minutes_ago=30)
    page = samples(api.client.get("/metrics", headers=SCRAPE).text)
    assert page[key("ingest_webhook_deliveries", status="failed")] == 1
    assert page[key("ingest_webhook_deliveries", status="received")] == 1
    assert page[key("ingest_check_ok", check="failed_deliveries_in_window")] == 0
    assert page[key("ingest_check_ok", check="oldest_delivery_wait_seconds")] == 0
    assert page[key("ingest_check_value", check="oldest_delivery_wait_seconds")] >= 1800
    assert page[key("ingest_healthy")] == 0


def test_reconciled_messages_and_gaps_show_in_the_metrics(api, db):
    for recovered, gaps in ((3, 0), (2, 1)):
        db.execute(
            "INSERT INTO reconcile_runs (account_id, trigger, since, finished_at, recovered,"
            " gaps, gap_conversations) VALUES ('acct-1', 'schedule', now(), now(), %s, %s,"
            " '{conv-1}')",
            (recovered, gaps),
        )
    page = samples(api.client.get("/metrics", headers=SCRAPE).text)
    assert page[key("ingest_reconciled_messages_total", account="acct-1")] == 5
    assert page[key("ingest_check_ok", check="reconcile_gaps_in_window")] == 0
    assert page[key("ingest_check_value", check="reconcile_gaps_in_window")] == 1


def test_metrics_after_a_real_flow(stack, db):
    # An account set up as production's is: the worker's hourly subscription check, which
    # procrastinate also runs at start within ten minutes of its slot, finds it subscribed.
    stack.sandbox.accounts.subscribe(SCOPED_ID, list(account_api.WEBHOOK_FIELDS))
    before = samples(stack.client.get("/metrics", headers=SCRAPE).text)
    assert stack.ingest(mid="m-metrics", sender_ig_id="user-m").status_code == 202
    stack.outbound_settled(1)
    # The outbound row settles inside the job; the job itself is marked done just after.
    wait_until(
        lambda: stack.rows(
            "SELECT 1 FROM procrastinate_jobs WHERE status = 'succeeded' "
            "AND task_name = 'decide_message'"
        ),
        what="the message's job to succeed",
    )
    web = samples(stack.client.get("/metrics", headers=SCRAPE).text)

    def grew(name: str, **labels: str) -> float:
        return web.get(key(name, **labels), 0) - before.get(key(name, **labels), 0)

    http = {
        "method": "POST",
        "path": "/api/internal/ingest-event",
        "status_code": "202",
        "app_name": "ingest",
    }
    assert grew("ingest_http_requests_total", **http) == 1
    assert grew("ingest_jobs_deferred_total", task="decide_message") == 1
    # Read from the database at scrape time: the worker's work shows on web's page.
    assert web[key("ingest_dms_in_window", kind="verification", status="sent")] == 1
    assert web[key("ingest_jobs", queue="messages", task="decide_message", status="succeeded")] == 1
    assert web[key("ingest_queue_depth", queue="messages")] == 0
    assert web[key("ingest_healthy")] == 1

    port = stack.env["WORKER_METRICS_PORT"]
    worker = samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text)
    assert worker[key("ingest_jobs_succeeded_total", task="decide_message")] == 1
    # The message's job sent its DM itself: no second job.
    assert key("ingest_jobs_succeeded_total", task="send_outbound") not in worker
    assert key("ingest_jobs_deferred_total", task="send_outbound") not in worker
    sent = key("ingest_dms_total", kind="verification", result="sent", account=SCOPED_ID)
    assert worker[sent] == 1
    assert worker[key("ingest_graph_request_seconds_count")] == 1
    assert worker[key("ingest_message_latency_seconds_count")] == 1


def test_metrics_answer_while_the_status_queries_fail(api, db):
    db.execute("ALTER TABLE outbound_messages RENAME TO outbound_messages_gone")
    try:
        page = samples(wait_until(lambda: api.client.get("/metrics", headers=SCRAPE)).text)
    finally:
        db.execute("ALTER TABLE outbound_messages_gone RENAME TO outbound_messages")
    assert page[key("ingest_status_up")] == 0
