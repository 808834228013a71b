"""The worker middleware: every job counted by outcome and logged in one line."""

from __future__ import annotations

import asyncio
import types

import prometheus_client
import pytest
import structlog

from service.business_account.pacing import Paced
from service.core.jobs import RetryLater
from workers import middleware


class Recorder:
    """Stands in for the module's structlog logger: keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict]] = []

    def __getattr__(self, level: str):
        def log(event: str, **fields) -> None:
            self.lines.append((level, event, fields))

        return log


@pytest.fixture
def logged(monkeypatch) -> Recorder:
    recorder = Recorder()
    monkeypatch.setattr(middleware, "log", recorder)
    return recorder


def context(task: str, **kwargs):
    job = types.SimpleNamespace(id=7, task_name=task, task_kwargs=kwargs)
    return types.SimpleNamespace(job=job)


def count(outcome: str, task: str) -> float:
    value = prometheus_client.REGISTRY.get_sample_value(
        f"ingest_jobs_{outcome}_total", {"task": task}
    )
    return value or 0.0


def run(task: str, body, **kwargs):
    async def call_next():
        return await body()

    return asyncio.run(middleware.count_and_log(call_next, context(task, **kwargs), None))


def test_a_job_returns_the_fields_of_its_one_line(logged):
    async def body():
        return {"status": "sent", "attempts": 1}

    before = count("succeeded", "unit_send")
    assert run("unit_send", body, outbound_id="o-1") == {"status": "sent", "attempts": 1}
    [(level, event, fields)] = logged.lines
    assert (level, event) == ("info", "unit_send")
    assert fields["status"] == "sent" and fields["attempts"] == 1 and fields["ms"] >= 0
    assert count("succeeded", "unit_send") == before + 1


def test_the_jobs_id_and_arguments_are_bound_but_not_a_periodic_tick(logged):
    seen = {}

    async def body():
        seen.update(structlog.contextvars.get_contextvars())

    run("unit_periodic", body, timestamp=1_700_000_000)
    assert seen == {"job_id": 7}
    run("unit_forward", body, delivery_id=3)
    assert seen == {"job_id": 7, "delivery_id": 3}
    assert structlog.contextvars.get_contextvars() == {}
    assert [(level, event) for level, event, _ in logged.lines] == [
        ("info", "unit_periodic"),
        ("info", "unit_forward"),
    ]


def test_a_level_among_the_fields_sets_the_lines_level(logged):
    async def body():
        return {"level": "debug", "rescued": 0}

    run("unit_rescue", body)
    [(level, event, fields)] = logged.lines
    assert (level, event) == ("debug", "unit_rescue") and "level" not in fields


def test_a_retry_later_is_logged_as_a_retry_and_counted_as_failed(logged):
    async def body():
        raise RetryLater(2.5, "ingest endpoint: HTTP 503")

    before = count("failed", "unit_retry")
    with pytest.raises(RetryLater):
        run("unit_retry", body)
    [(level, event, fields)] = logged.lines
    assert (level, event, fields["status"], fields["retry_in"]) == (
        "warning",
        "unit_retry",
        "retrying",
        2.5,
    )
    assert count("failed", "unit_retry") == before + 1


def test_a_send_waiting_for_its_turn_is_routine_and_logged_at_debug(logged):
    async def body():
        raise Paced(0.2, "waiting for its turn under GRAPH_SEND_RATE")

    with pytest.raises(Paced):
        run("unit_paced", body)
    [(level, event, fields)] = logged.lines
    assert (level, event, fields["status"]) == ("debug", "unit_paced", "retrying")


def test_an_unexpected_error_is_logged_and_counted_as_failed(logged):
    async def body():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        run("unit_boom", body)
    [(level, event, fields)] = logged.lines
    assert (level, event, fields["status"]) == ("warning", "unit_boom", "error")
    assert "boom" in fields["error"]
    assert count("failed", "unit_boom") == 1 and count("succeeded", "unit_boom") == 0
