"""What `ingest worker` says of itself: a line when it starts and one when it stops."""

from __future__ import annotations

import json

from tests.support.processes import start_worker


def logged_events(output: str) -> list[str]:
    return [json.loads(line)["event"] for line in output.splitlines() if line.startswith("{")]


def test_the_worker_logs_a_line_when_it_stops(api, db):
    worker = start_worker(api.env, db)
    try:
        assert worker.terminate() == 0
        events = logged_events(worker.output())
        assert "worker started" in events
        assert events[-1] == "worker stopped", events
    finally:
        worker.close()
