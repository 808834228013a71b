"""Postgres restarted, or backends killed, under load: web answers 503 while the database
is away, the worker recovers without a process restart, and no accepted event is lost."""

from __future__ import annotations

import time

import httpx

from tests.faults.harness import Traffic
from tests.support.processes import wait_until
from tests.support.stack import SERVICE_TOKEN


def test_postgres_restart_under_load(faults, cluster, sandbox):
    stack = faults()
    web = stack.start_web()
    worker = stack.start_worker()
    with Traffic(stack, "restart") as traffic:
        wait_until(lambda: len(traffic.accepted) >= 10, timeout=60, what="traffic to flow")
        cluster.stop()
        stopped_at = time.monotonic()
        probe = httpx.post(
            f"{stack.web_url}/api/internal/ingest-event",
            json={
                "mid": "probe",
                "sender_ig_id": "probe-user",
                "recipient_ig_id": "page",
                "timestamp": "1734123456",
            },
            headers={"x-service-token": SERVICE_TOKEN},
            timeout=30,
        )
        wait_until(
            lambda: "worker loop stopped" in worker.output(),
            timeout=60,
            what="the worker to notice the outage",
        )
        accepted_before = len(traffic.accepted)
        cluster.start()
        started_at = time.monotonic()
        wait_until(
            lambda: len(traffic.accepted) > accepted_before,
            timeout=60,
            what="web to accept events again",
        )
        web_back = time.monotonic() - started_at
        wait_until(
            lambda: len(traffic.accepted) >= accepted_before + 10,
            timeout=60,
            what="traffic after the restart",
        )
    stack.wait_all_done(traffic.accepted)
    all_done = time.monotonic() - started_at
    lost, duplicates = stack.lost(traffic.accepted), stack.duplicates()
    print(
        f"\n[postgres restart] events sent: {len(traffic.accepted)}, lost: {lost}, "
        f"DMs duplicated: {duplicates}; down {started_at - stopped_at:.1f}s "
        f"({traffic.unavailable} answers 503); web accepting {web_back:.1f}s after the start, "
        f"every event processed and answered {all_done:.1f}s after it"
    )
    assert probe.status_code == 503
    assert probe.json() == {"status_code": 503, "detail": "database unavailable, retry later"}
    assert web.alive and worker.alive  # recovered in place, no process restart
    assert "restarting the worker loop" in worker.output()
    assert lost == 0


def test_killed_backends_under_load(faults, sandbox):
    stack = faults()
    stack.start_web()
    worker = stack.start_worker()
    killed = 0
    with Traffic(stack, "backend") as traffic:
        for round_ in range(3):
            wait_until(
                lambda: len(traffic.accepted) >= 5 * (round_ + 1),
                timeout=60,
                what="traffic to flow",
            )
            killed += len(
                stack.rows(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
        wait_until(lambda: len(traffic.accepted) >= 20, timeout=60, what="more traffic")
    killed_at = time.monotonic()
    stack.wait_all_done(traffic.accepted)
    lost = stack.lost(traffic.accepted)
    print(
        f"\n[killed backends] events sent: {len(traffic.accepted)}, lost: {lost}, "
        f"DMs duplicated: {stack.duplicates()}; {killed} backends killed in 3 rounds; "
        f"all processed {time.monotonic() - killed_at:.1f}s after the last round"
    )
    assert worker.alive
    assert lost == 0


def test_a_worker_without_its_database_too_long_exits_non_zero(faults, cluster):
    stack = faults(WORKER_DATABASE_OUTAGE_SECONDS="2")
    worker = stack.start_worker()
    cluster.stop()
    try:
        wait_until(lambda: not worker.alive, timeout=60, what="the worker to give up")
    finally:
        cluster.start()
    assert worker.process.returncode == 1
    assert "database unreachable; exiting for the supervisor to restart" in worker.output()
