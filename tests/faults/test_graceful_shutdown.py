"""SIGTERM: the worker lets its in-flight jobs finish; web drains its requests."""

from __future__ import annotations

import concurrent.futures
import signal
import time

import httpx

from devtools.sandbox import ScriptedResponse
from tests.support.processes import wait_until
from tests.support.stack import SERVICE_TOKEN


def test_sigterm_lets_the_worker_finish_its_send(faults, sandbox):
    stack = faults(GRAPH_TIMEOUT_SECONDS="10")
    sandbox.script(ScriptedResponse(delay_seconds=1.5))
    stack.start_web()
    worker = stack.start_worker()
    stack.post_event("term-1", "term-user")
    wait_until(stack.in_flight, timeout=30, what="the send to be in flight")
    asked = time.monotonic()
    assert worker.terminate() == 0
    took = time.monotonic() - asked
    [dm] = stack.rows("SELECT status, attempts, error FROM outbound_messages")
    print(f"\n[worker SIGTERM] exited 0 after {took:.1f}s, with its send finished")
    assert dm == {"status": "sent", "attempts": 1, "error": None}
    assert len(sandbox.messages()) == 1


def test_sigterm_lets_web_finish_its_requests(faults, sandbox):
    stack = faults(GRAPH_TIMEOUT_SECONDS="10", SEND_DM_WAIT_SECONDS="10")
    sandbox.script(ScriptedResponse(delay_seconds=1.5))
    web = stack.start_web()
    stack.start_worker()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        request = pool.submit(
            httpx.post,
            f"{stack.web_url}/api/internal/send-dm",
            json={"ig_id": "drain-user", "message_text": "hello"},
            headers={"x-service-token": SERVICE_TOKEN},
            timeout=30,
        )
        wait_until(stack.in_flight, timeout=30, what="the DM to be in flight")
        # uvicorn drains, then ends by the signal it got, as servers conventionally do.
        assert web.terminate() == -signal.SIGTERM
        response = request.result()
    assert response.status_code == 200 and response.json()["success"] is True
    assert len(sandbox.messages()) == 1
