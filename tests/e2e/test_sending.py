"""Sending DMs: the retry schedule, permanent errors, rate limits, as rows and calls."""

from __future__ import annotations

import time

from service.core.settings import Settings
from service.dms.outcomes import retry_delay

SERVER_ERROR = {"status": 500, "body": {"error": {"message": "boom", "code": 2}}}


def test_two_server_errors_then_success_is_sent_after_three_calls(stack):
    stack.sandbox.script(SERVER_ERROR, SERVER_ERROR)
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "sent" and dm["attempts"] == 3
    assert dm["remote_message_id"] == stack.sandbox.messages()[0].message_id
    assert stack.sandbox.attempts == 3


def test_four_server_errors_fail_the_dm_after_four_calls(stack):
    stack.sandbox.script(*[SERVER_ERROR] * 4)
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "failed" and dm["attempts"] == 4
    assert dm["error"] == "TransientGraphError: boom (HTTP 500, code 2)"
    assert stack.sandbox.attempts == 4 and stack.sandbox.messages() == []


def test_a_permanent_error_fails_after_one_call(stack):
    stack.sandbox.script(
        {
            "status": 400,
            "body": {
                "error": {
                    "message": "No matching user found",
                    "type": "IGApiException",
                    "code": 100,
                    "error_subcode": 2534014,
                }
            },
        }
    )
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "failed" and dm["attempts"] == 1
    assert dm["error"] == (
        "PermanentGraphError: No matching user found (HTTP 400, code 100, subcode 2534014)"
    )
    assert stack.sandbox.attempts == 1


def test_outside_the_messaging_window_fails_at_once(stack):
    stack.sandbox.script(
        {
            "status": 403,
            "body": {
                "error": {
                    "message": "This message is sent outside of allowed window.",
                    "code": 10,
                    "error_subcode": 2534022,
                }
            },
        }
    )
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "failed" and dm["attempts"] == 1


def test_rate_limit_waits_for_retry_after(stack):
    stack.sandbox.script(
        {
            "status": 429,
            "headers": {"Retry-After": "1"},
            "body": {"error": {"message": "Too many calls", "code": 4}},
        }
    )
    started = time.monotonic()
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "sent" and dm["attempts"] == 2
    # The scaled-down backoff is 0.05 s: only Retry-After explains a wait of a second.
    assert time.monotonic() - started >= 1.0


def test_a_huge_retry_after_holds_the_account_for_an_hour_at_most(stack):
    stack.sandbox.script(
        {
            "status": 429,
            "headers": {"Retry-After": "99999999999"},  # about 3000 years
            "body": {"error": {"message": "Too many calls", "code": 4}},
        }
    )
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    [hold] = stack.wait(
        lambda: stack.rows(
            "SELECT extract(epoch FROM limited_until - now()) AS seconds FROM graph_rate_limits"
        ),
        what="the rate-limit hold",
    )
    assert 3500 < hold["seconds"] <= 3600


def test_a_failed_send_keeps_one_token_per_event(stack):
    stack.sandbox.script(SERVER_ERROR)
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    stack.outbound_settled(1)
    [token] = stack.rows("SELECT * FROM verification_tokens")
    [dm] = stack.sandbox.messages()
    assert (
        token["token_hash"]
        in stack.rows("SELECT payload->>'token_hash' AS h FROM outbound_messages")[0]["h"]
    )
    assert "token=" in dm.text


def test_the_default_schedule_is_one_two_four_seconds_capped_at_ten():
    settings = Settings.from_mapping(
        {"DATABASE_URL": "x", "INTERNAL_SERVICE_TOKEN": "x", "INSTAGRAM_ACCESS_TOKEN": "x"}
    )
    assert [retry_delay(settings, n, None) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]
    assert retry_delay(settings, 1, 30.0) == 30.0
