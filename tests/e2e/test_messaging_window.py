"""Meta's 24-hour messaging window: every inbound event that opens it is remembered
(`instagram_profiles.last_inbound_at`), and a DM to a user whose window has closed makes no
Graph API call."""

from __future__ import annotations

import datetime as dt
import time

from service.core.settings import Settings
from tests.support import seed
from tests.support.meta_payloads import ACCOUNT, USER, delivery, entry, item, message_item
from tests.support.sends import row, send_until_settled
from tests.support.stack import SERVICE_TOKEN, Stack, run_cli

DAY = 86400


def seconds_ago(seconds: float) -> int:
    return int(time.time() - seconds)


def last_inbound(stack, ig_id: str) -> dt.datetime | None:
    rows = stack.rows("SELECT last_inbound_at FROM instagram_profiles WHERE ig_id = %s", ig_id)
    return rows[0]["last_inbound_at"] if rows else None


def test_a_message_opens_the_window_and_keeps_the_latest_time(api):
    later, earlier = seconds_ago(100), seconds_ago(5000)
    assert api.ingest(mid="m-later", timestamp=str(later)).status_code == 202
    # Out of order: an older message does not move the window back.
    assert api.ingest(mid="m-earlier", timestamp=str(earlier)).status_code == 202
    assert last_inbound(api, "user-1").timestamp() == later


def test_an_echo_does_not_open_the_window(api):
    sent = seconds_ago(DAY)
    api.ingest(mid="m-user", timestamp=str(sent))
    api.ingest(mid="m-echo", timestamp=str(seconds_ago(1)), is_echo=True)
    assert last_inbound(api, "user-1").timestamp() == sent


def test_a_time_in_the_future_opens_the_window_only_until_now(api):
    api.ingest(mid="m-future", timestamp=str(seconds_ago(-10 * DAY)))
    assert last_inbound(api, "user-1") <= dt.datetime.now(dt.UTC)


def test_a_referral_opens_the_window_and_a_read_or_a_reaction_does_not(webhook_stack):
    now_ms = int(time.time() * 1000)
    response = webhook_stack.deliver(
        delivery(
            entry(
                item(sender="referred", timestamp=now_ms, referral={"ref": "ad", "source": "ADS"}),
                item(sender=USER, timestamp=now_ms, read={"mid": "mid.x"}),
                item(
                    sender=USER,
                    timestamp=now_ms,
                    reaction={"mid": "mid.x", "action": "react", "reaction": "love"},
                ),
            )
        )
    )
    assert response.status_code == 200
    webhook_stack.delivery_settled(1)
    opened = last_inbound(webhook_stack, "referred")
    assert opened is not None and abs(opened.timestamp() * 1000 - now_ms) < 1
    assert last_inbound(webhook_stack, USER) is None


def test_an_unsupported_message_opens_the_window(webhook_stack):
    now_ms = int(time.time() * 1000)
    webhook_stack.deliver(
        delivery(entry(message_item("mid.gif", is_unsupported=True, timestamp=now_ms)))
    )
    webhook_stack.delivery_settled(1)
    assert last_inbound(webhook_stack, USER) is not None
    assert webhook_stack.rows("SELECT * FROM messages") == []  # held back, as before
    assert last_inbound(webhook_stack, ACCOUNT) is None


def test_send_dm_outside_the_window_is_422_and_calls_nothing(stack):
    stack.ingest(mid="m-old", sender_ig_id="quiet-user", timestamp=str(seconds_ago(2 * DAY)))
    stack.outbound_settled(1)  # the verification DM that answered it
    stack.sandbox.reset()

    response = stack.post("/api/internal/send-dm", {"ig_id": "quiet-user", "message_text": "hi"})

    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False and body["status"] == "failed"
    assert "messaging window" in body["error"] and "MESSAGING_WINDOW_SECONDS" in body["error"]
    [dm] = stack.rows("SELECT * FROM outbound_messages WHERE kind = 'custom'")
    assert (dm["status"], dm["attempts"], dm["error"]) == ("failed", 0, body["error"])
    assert stack.rows("SELECT * FROM procrastinate_jobs WHERE task_name = 'send_outbound'") == []
    assert stack.sandbox.attempts == 0 and stack.sandbox.messages() == []


def test_send_dm_inside_the_window_or_to_a_stranger_is_sent(stack):
    seed.an_unconnected_sender(stack.db, "recent-user", last_inbound_seconds_ago=3600)
    for ig_id in ("recent-user", "stranger"):
        response = stack.post("/api/internal/send-dm", {"ig_id": ig_id, "message_text": "hi"})
        assert response.status_code == 200, response.text
    assert sorted(m.recipient_id for m in stack.sandbox.messages()) == ["recent-user", "stranger"]


def test_the_window_is_a_setting(env, sandbox, db):
    seed.an_unconnected_sender(db, "user-1", last_inbound_seconds_ago=120)
    with Stack({**env, "MESSAGING_WINDOW_SECONDS": "60"}, sandbox, db) as stack:
        response = stack.post("/api/internal/send-dm", {"ig_id": "user-1", "message_text": "hi"})
        assert response.status_code == 422 and "60" in response.json()["error"]
    assert sandbox.attempts == 0


async def test_a_queued_dm_whose_window_closed_fails_without_a_call(env, db, sandbox):
    seed.an_unconnected_sender(db, "user-1", last_inbound_seconds_ago=2 * DAY)
    dm_id = seed.a_pending_dm(db, "user-1")
    await send_until_settled(Settings.from_mapping(env), dm_id)
    dm = row(db, dm_id)
    assert (dm["status"], dm["attempts"]) == ("failed", 0)
    assert "messaging window" in dm["error"]
    assert sandbox.attempts == 0


def test_a_reply_to_a_message_just_received_is_sent(stack, db):
    """The window opens when the message reaches us too: a reply to one is never refused,
    whatever time the caller wrote in it."""
    seed.a_connected_sender(db, "user-1")
    stack.ingest(mid="m-1", timestamp=str(seconds_ago(3 * DAY)))
    [dm] = stack.outbound_settled(1)
    assert (dm["kind"], dm["status"]) == ("acknowledgement", "sent")


def test_retry_failed_skips_dms_whose_window_closed_and_says_how_many(env, db):
    seed.an_unconnected_sender(db, "quiet-1", last_inbound_seconds_ago=2 * DAY)
    seed.an_unconnected_sender(db, "quiet-2", last_inbound_seconds_ago=3 * DAY)
    seed.an_unconnected_sender(db, "recent", last_inbound_seconds_ago=60)
    for recipient in ("quiet-1", "quiet-2", "recent", "stranger"):
        seed.failed_dm(db, kind="custom", recipient=recipient)

    result = run_cli(env, "retry-failed")

    assert result.returncode == 0, result.stderr
    assert "2 failed DMs re-queued" in result.stdout
    assert "2 skipped: the recipient's messaging window has closed" in result.stdout
    rows = db.execute("SELECT recipient_ig_id, status FROM outbound_messages").fetchall()
    assert {r["recipient_ig_id"]: r["status"] for r in rows} == {
        "quiet-1": "failed",
        "quiet-2": "failed",
        "recent": "pending",
        "stranger": "pending",
    }


def test_status_counts_window_closed_failures_apart(api, db):
    seed.an_unconnected_sender(db, "quiet", last_inbound_seconds_ago=2 * DAY)
    seed.failed_dm(db, kind="custom", recipient="quiet")
    seed.failed_dm(db, kind="custom", recipient="stranger")
    seed.failed_dm(db, kind="acknowledgement", recipient="quiet")

    report = api.client.get(
        "/api/internal/status", headers={"x-service-token": SERVICE_TOKEN}
    ).json()

    outbound = {(r["kind"], r["status"]): r for r in report["outbound"]}
    assert outbound["custom", "failed"]["dms"] == 2
    assert outbound["custom", "failed"]["window_closed"] == 1
    assert outbound["acknowledgement", "failed"]["window_closed"] == 1
    # They are expected, not a fault: the health check counts the other failures only.
    failed = next(c for c in report["checks"] if c["name"] == "failed_dms_in_window")
    assert failed["value"] == 1
    assert "2 more whose messaging window has closed" in failed["detail"]


def test_ingest_status_shows_the_window_closed_count(env, db):
    seed.an_unconnected_sender(db, "quiet", last_inbound_seconds_ago=2 * DAY)
    seed.failed_dm(db, kind="custom", recipient="quiet")
    result = run_cli(env, "status", "--json")
    assert '"window_closed": 1' in result.stdout
