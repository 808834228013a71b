"""The Graph API sandbox on real loopback sockets, driven by GraphClient over a real httpx
client."""

from __future__ import annotations

import asyncio
import datetime
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devtools.sandbox import Sandbox, ScriptedResponse
from service.instagram import (
    DeliveredWithError,
    GraphClient,
    InvalidAccessTokenError,
    PermanentGraphError,
    RateLimitedError,
    SendResult,
    TransientGraphError,
    account_api,
    build_http_client,
)

TOKEN = "sandbox-token"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


async def send(
    url: str, *texts: str, recipient: str = "1789", scoped_id: str = "me", timeout: float = 5.0
) -> list[SendResult | BaseException]:
    """Send `texts` concurrently; each result is a SendResult or the exception it raised."""
    async with build_http_client(timeout) as http:
        client = GraphClient(http, base_url=url, scoped_id=scoped_id, access_token=TOKEN)
        sends = [client.send_text(recipient, text) for text in texts]
        return await asyncio.gather(*sends, return_exceptions=True)


async def test_a_send_is_recorded_and_answered_like_the_graph_api(sandbox: Sandbox) -> None:
    (result,) = await send(sandbox.url, "hello", recipient="42", scoped_id="17841400000000001")
    assert isinstance(result, SendResult) and result.recipient_id == "42"
    assert result.message_id.startswith("sandbox-")
    (dm,) = sandbox.messages()
    assert (dm.recipient_id, dm.text, dm.message_id, dm.scoped_id) == (
        "42",
        "hello",
        result.message_id,
        "17841400000000001",
    )
    assert dm.received_at.tzinfo is datetime.UTC
    assert sandbox.attempts == 1


async def test_a_dm_records_its_arrival_before_the_latency_and_its_answer_after(
    sandbox: Sandbox,
) -> None:
    sandbox.latency_seconds = 0.2
    await send(sandbox.url, "hi")
    (dm,) = sandbox.messages()
    assert dm.arrived_at.tzinfo is datetime.UTC
    assert (dm.received_at - dm.arrived_at).total_seconds() >= 0.2
    with httpx.Client(base_url=sandbox.url) as control:
        (listed,) = control.get("/_sandbox/messages").json()
    assert datetime.datetime.fromisoformat(listed["arrived_at"]) == dm.arrived_at


async def test_wait_for_messages_returns_once_enough_dms_arrived(sandbox: Sandbox) -> None:
    await send(sandbox.url, "one", "two", "three")
    assert sorted(dm.text for dm in sandbox.wait_for_messages(3, timeout=5)) == [
        "one",
        "three",
        "two",
    ]


async def test_wait_for_messages_fails_with_what_it_had(sandbox: Sandbox) -> None:
    await send(sandbox.url, "only one")
    with pytest.raises(AssertionError, match="expected 2 DMs in 0.05s, got 1"):
        sandbox.wait_for_messages(2, timeout=0.05)


async def test_a_versioned_base_url_works(sandbox: Sandbox) -> None:
    (result,) = await send(f"{sandbox.url}/v24.0", "hi")
    assert isinstance(result, SendResult)
    assert [dm.scoped_id for dm in sandbox.messages()] == ["me"]


async def test_a_scripted_500_fails_then_the_next_send_succeeds(sandbox: Sandbox) -> None:
    sandbox.script(ScriptedResponse(status=500, body={"error": {"message": "boom", "code": 2}}))
    (failed,) = await send(sandbox.url, "first try")
    (sent,) = await send(sandbox.url, "second try")
    assert type(failed) is TransientGraphError and failed.code == 2
    assert isinstance(sent, SendResult)
    assert [dm.text for dm in sandbox.messages()] == ["second try"]
    assert sandbox.attempts == 2


async def test_a_scripted_429_surfaces_as_rate_limited_with_retry_after(sandbox: Sandbox) -> None:
    sandbox.script({"status": 429, "body": "Too Many Requests", "headers": {"Retry-After": "7"}})
    (error,) = await send(sandbox.url, "hi")
    assert isinstance(error, RateLimitedError) and error.retry_after == 7.0
    assert sandbox.messages() == [] and sandbox.attempts == 1


async def test_a_scripted_sent_yet_error_is_recorded_and_not_to_be_resent(sandbox: Sandbox) -> None:
    body = {"error": {"message": "sent", "code": 1, "error_subcode": 1357046}}
    sandbox.script(ScriptedResponse(status=500, body=body, deliver=True))
    (error,) = await send(sandbox.url, "hi")
    assert isinstance(error, DeliveredWithError)
    assert [dm.text for dm in sandbox.messages()] == ["hi"]


async def test_latency_is_honoured_without_serialising_requests(sandbox: Sandbox) -> None:
    sandbox.latency_seconds = 0.3
    started = time.monotonic()
    results = await send(sandbox.url, *[f"dm {i}" for i in range(10)])
    elapsed = time.monotonic() - started
    assert all(isinstance(result, SendResult) for result in results)
    assert elapsed >= 0.3
    assert elapsed < 10 * 0.3  # answered concurrently, not one after another


async def test_a_scripted_delay_past_the_client_timeout_is_transient() -> None:
    with Sandbox() as sandbox:  # its own: the delayed answer outlives this test's client
        sandbox.script(ScriptedResponse(delay_seconds=0.5, deliver=False))
        (error,) = await send(sandbox.url, "hi", timeout=0.1)
        assert type(error) is TransientGraphError and "ReadTimeout" in str(error)


def test_a_send_without_a_bearer_token_is_rejected(sandbox: Sandbox) -> None:
    response = httpx.post(f"{sandbox.url}/me/messages", json={})
    assert response.status_code == 400 and response.json()["error"]["code"] == 190
    assert sandbox.messages() == [] and sandbox.attempts == 1


@pytest.mark.parametrize(
    "body",
    [
        {"recipient": {"id": "1"}},
        {"recipient": {"id": ""}, "message": {"text": "hi"}},
        {"recipient": {"id": "1"}, "message": {"text": 5}},
        {"recipient": {"id": "1"}, "message": {"text": "é" * 501}},
        ["not", "an", "object"],
    ],
)
async def test_a_malformed_send_is_rejected_and_leaves_the_script(
    sandbox: Sandbox, body: object
) -> None:
    sandbox.script(ScriptedResponse(status=503))
    response = httpx.post(
        f"{sandbox.url}/me/messages", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == 100
    assert sandbox.messages() == []
    (still_scripted,) = await send(sandbox.url, "hi")
    assert isinstance(still_scripted, TransientGraphError)


async def test_graph_client_refuses_a_text_over_the_limit_before_the_sandbox_sees_it(
    sandbox: Sandbox,
) -> None:
    (error,) = await send(sandbox.url, "é" * 501)
    assert isinstance(error, PermanentGraphError) and sandbox.attempts == 0


async def test_control_endpoints_script_list_count_and_reset(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as control:
        scripted = control.post("/_sandbox/script", json=[{"status": 500}, {"status": 200}])
        assert scripted.json() == {"scripted": 2}
        failed, sent = await send(sandbox.url, "a"), await send(sandbox.url, "b")
        assert isinstance(failed[0], TransientGraphError) and isinstance(sent[0], SendResult)
        (dm,) = control.get("/_sandbox/messages").json()
        assert dm["text"] == "b" and dm["recipient_id"] == "1789" and dm["scoped_id"] == "me"
        assert datetime.datetime.fromisoformat(dm["received_at"]).tzinfo is not None
        assert control.get("/_sandbox/requests").json() == {
            "attempts": 2,
            "delivered": 1,
            "rate_limited": 0,
        }
        assert control.post("/_sandbox/reset").status_code == 200
        assert control.get("/_sandbox/messages").json() == []
        assert control.get("/_sandbox/requests").json() == {
            "attempts": 0,
            "delivered": 0,
            "rate_limited": 0,
        }


async def test_a_rate_limit_answers_429_to_the_sends_over_it(sandbox: Sandbox) -> None:
    sandbox.rate_limit_per_second = 3
    results = await send(sandbox.url, *"abcde")
    over = [r for r in results if isinstance(r, RateLimitedError)]
    assert len(over) == 2 and sandbox.rate_limited == 2
    assert len(sandbox.messages()) == 3 and sandbox.attempts == 5


def test_a_bad_script_is_rejected(sandbox: Sandbox) -> None:
    for bad in ([{"status": 42}], {"colour": "red"}, "not json"):
        response = httpx.post(f"{sandbox.url}/_sandbox/script", json=bad)
        assert response.status_code == 400


async def test_the_sandbox_runs_standalone_as_a_module() -> None:
    command = [sys.executable, "-m", "devtools.sandbox", "--port", "0", "--quiet"]
    with subprocess.Popen(
        command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            banner = process.stdout.readline() if process.stdout else ""
            assert banner.startswith("sandbox Graph API on http://127.0.0.1:"), banner
            url = banner.rsplit(" ", 1)[1].strip()
            (result,) = await send(url, "from another process")
            assert isinstance(result, SendResult)
            (dm,) = httpx.get(f"{url}/_sandbox/messages").json()
            assert dm["message_id"] == result.message_id
        finally:
            process.terminate()
            _, errors = process.communicate(timeout=10)
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status tells why it stopped.
    assert process.returncode in (0, -signal.SIGTERM) and "Traceback" not in errors


async def test_each_account_has_its_own_token_and_rate_limit(sandbox: Sandbox) -> None:
    sandbox.accounts.add("111", TOKEN, username="brand_a", rate_limit=2)
    sandbox.accounts.add("222", "other-token")
    async with build_http_client(5.0) as http:
        owner = await account_api.token_owner(http, sandbox.url, TOKEN)
        with pytest.raises(InvalidAccessTokenError):
            await account_api.token_owner(http, sandbox.url, "no-account-holds-it")
    assert (owner.user_id, owner.username) == ("111", "brand_a")
    # Its own token on another account's path is refused.
    (refused,) = await send(sandbox.url, "hi", scoped_id="222")
    assert isinstance(refused, InvalidAccessTokenError)
    # Its own limit, counted apart from the other account's sends.
    results = await send(sandbox.url, *"abc", scoped_id="111")
    assert sum(isinstance(r, RateLimitedError) for r in results) == 1
    async with build_http_client(5.0) as http:
        other = GraphClient(http, base_url=sandbox.url, scoped_id="222", access_token="other-token")
        assert isinstance(await other.send_text("9", "hello"), SendResult)
