"""Graph API faults: each ends with the exact status, attempts and error on the row."""

from __future__ import annotations

import pytest

from devtools.sandbox import ScriptedResponse
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import sending
from tests.support import seed
from tests.support.processes import free_port, wait_until
from tests.support.sends import row, send_until_settled


def graph_error(code: int, subcode: int | None = None, message: str = "nope") -> dict:
    return {
        "error": {
            "message": message,
            "type": "IGApiException",
            "code": code,
            "error_subcode": subcode,
            "fbtrace_id": "trace",
        }
    }


def scripted(status: int, body=None, **headers: str) -> ScriptedResponse:
    return ScriptedResponse(status=status, body=body, headers=headers)


FAILS = [scripted(500)] * 4
MATRIX = {
    "5xx until the retries run out": (
        FAILS,
        "failed",
        4,
        "TransientGraphError: Graph API answered HTTP 500 (HTTP 500)",
    ),
    "5xx, then sent": ([scripted(503)], "sent", 2, None),
    "429 with Retry-After, then sent": ([scripted(429, **{"Retry-After": "0"})], "sent", 2, None),
    "rate limit code 4": ([scripted(400, graph_error(4))], "sent", 2, None),
    "rate limit code 17": ([scripted(400, graph_error(17))], "sent", 2, None),
    "rate limit code 32": ([scripted(400, graph_error(32))], "sent", 2, None),
    "rate limit 613/2534040": ([scripted(400, graph_error(613, 2534040))], "sent", 2, None),
    "rate limited until the retries run out": (
        [scripted(429, graph_error(4, message="slow down"))] * 4,
        "failed",
        4,
        "RateLimitedError: slow down (HTTP 429, code 4, fbtrace_id trace)",
    ),
    "temporary code 2": ([scripted(400, graph_error(2))], "sent", 2, None),
    "outside the messaging window": (
        [scripted(403, graph_error(10, 2534022, "window"))],
        "failed",
        1,
        "PermanentGraphError: window (HTTP 403, code 10, subcode 2534022, fbtrace_id trace)",
    ),
    "user unavailable": (
        [scripted(400, graph_error(551, message="gone"))],
        "failed",
        1,
        "PermanentGraphError: gone (HTTP 400, code 551, fbtrace_id trace)",
    ),
    "no matching user": (
        [scripted(400, graph_error(100, 2534014, "who"))],
        "failed",
        1,
        "PermanentGraphError: who (HTTP 400, code 100, subcode 2534014, fbtrace_id trace)",
    ),
    "messages disabled": (
        [scripted(400, graph_error(200, 2534041, "off"))],
        "failed",
        1,
        "PermanentGraphError: off (HTTP 400, code 200, subcode 2534041, fbtrace_id trace)",
    ),
    "sent, yet an error": (
        [ScriptedResponse(status=500, body=graph_error(1, 1357046, "sent anyway"), deliver=True)],
        "sent",
        1,
        "DeliveredWithError: sent anyway (HTTP 500, code 1, subcode 1357046, fbtrace_id trace)",
    ),
    "2xx that is not JSON": (
        [scripted(200, "<html>ok</html>")],
        "sent",
        1,
        "DeliveredWithError: Graph API answered success without a message_id (HTTP 200)",
    ),
    "5xx that is not JSON": ([scripted(502, "<html>bad gateway</html>")], "sent", 2, None),
    "4xx that is not JSON": (
        [scripted(400, "garbage")],
        "failed",
        1,
        "PermanentGraphError: Graph API answered HTTP 400: garbage (HTTP 400)",
    ),
}


@pytest.fixture
def settings(env) -> Settings:
    return Settings.from_mapping(env)


@pytest.mark.parametrize("case", MATRIX)
async def test_graph_fault_ends_in_the_right_state(case, settings, sandbox, db):
    responses, status, attempts, error = MATRIX[case]
    sandbox.script(*responses)
    dm_id = seed.a_pending_dm(db)
    await send_until_settled(settings, dm_id)
    assert row(db, dm_id) == {
        "status": status,
        "attempts": attempts,
        "error": error,
        "sending_attempt_id": None,
    }
    assert sandbox.attempts == attempts
    assert len(sandbox.messages()) == (status == "sent")


async def test_an_invalid_token_fails_at_once_when_no_token_is_stored(env, sandbox, db):
    # Without TOKEN_ENCRYPTION_KEY nothing could replace the token without a restart, so
    # holding would wait forever (the stored token's hold: tests/e2e/test_access_token.py).
    sandbox.script(scripted(401, graph_error(190, message="expired")))
    settings = Settings.from_mapping({**env, "TOKEN_ENCRYPTION_KEY": ""})
    dm_id = seed.a_pending_dm(db)
    await send_until_settled(settings, dm_id)
    assert row(db, dm_id) == {
        "status": "failed",
        "attempts": 1,
        "error": "InvalidAccessTokenError: expired (HTTP 401, code 190, fbtrace_id trace)",
        "sending_attempt_id": None,
    }


async def test_connection_refused_is_retried_then_fails(env, db):
    closed = f"http://127.0.0.1:{free_port()}"
    settings = Settings.from_mapping({**env, "INSTAGRAM_API_BASE_URL": closed})
    dm_id = seed.a_pending_dm(db)
    await send_until_settled(settings, dm_id)
    assert row(db, dm_id) == {
        "status": "failed",
        "attempts": 4,
        "sending_attempt_id": None,
        "error": "TransientGraphError: ConnectError calling the Graph API: "
        "All connection attempts failed",
    }


async def test_timeout_is_retried_then_fails(env, sandbox, db):
    settings = Settings.from_mapping({**env, "GRAPH_TIMEOUT_SECONDS": "0.2"})
    sandbox.script(*[ScriptedResponse(delay_seconds=0.5)] * 4)
    dm_id = seed.a_pending_dm(db)
    await send_until_settled(settings, dm_id)
    assert row(db, dm_id) == {
        "status": "failed",
        "attempts": 4,
        "sending_attempt_id": None,
        "error": "TransientGraphError: ReadTimeout calling the Graph API: no detail",
    }


async def test_retries_wait_the_spec_schedule_and_honour_retry_after(settings, sandbox, db):
    sandbox.script(
        scripted(500), scripted(503, **{"Retry-After": "0.7"}), scripted(500), scripted(500)
    )
    waits = await send_until_settled(settings, seed.a_pending_dm(db))
    # Base 0.05 s doubling (the tests' scale of 1 s, 2 s, 4 s); Retry-After asks for longer.
    assert waits == [0.05, 0.7, 0.2]


async def test_a_rate_limit_holds_every_send_of_the_account(settings, sandbox, db):
    sandbox.script(scripted(429, **{"Retry-After": "30"}))
    first, second = seed.a_pending_dm(db, "user-1"), seed.a_pending_dm(db, "user-2")

    async with open_runtime(settings) as rt:
        with pytest.raises(sending.RetryLater) as limited:
            await sending.send_outbound(rt, first)
        assert limited.value.delay_seconds == 30
        with pytest.raises(sending.RetryLater) as held:
            await sending.send_outbound(rt, second)
    held_for = held.value.delay_seconds
    assert 25 < held_for <= 30
    assert sandbox.attempts == 1  # the second DM made no call
    assert row(db, second)["attempts"] == 0 and row(db, second)["status"] == "pending"
    [hold] = db.execute("SELECT scoped_id, error FROM graph_rate_limits").fetchall()
    assert hold == {
        "scoped_id": settings.instagram_scoped_id,
        "error": "RateLimitedError: Graph API answered HTTP 429 (HTTP 429)",
    }


def test_the_worker_reschedules_transient_failures(stack, sandbox):
    sandbox.script(scripted(500), scripted(503))
    stack.ingest(mid="retry-1", sender_ig_id="user-r")
    [dm] = stack.outbound_settled(1)
    assert (dm["status"], dm["attempts"], dm["error"]) == ("sent", 3, None)
    [job] = wait_until(
        lambda: stack.rows(
            "SELECT attempts, status FROM procrastinate_jobs"
            " WHERE task_name = 'decide_message' AND status = 'succeeded'"
        ),
        what="the job to end",
    )
    # The message's one job sent its DM: a run per call, the waits were re-schedules.
    assert job["attempts"] == 3
