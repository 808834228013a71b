"""Ice breakers and button taps (`postback` events) are a first contact: stored as inbound
messages and answered like typed ones, but never handed to Phase 3."""

from __future__ import annotations

from service.dms import texts
from tests.e2e.test_flows import VERIFICATION_LINK
from tests.e2e.test_webhook_delivery import deliver_and_settle, messages
from tests.support import seed
from tests.support.meta_payloads import SENT_MS, USER, delivery, entry, item

ICE_BREAKER = {"mid": "mid.ice", "title": "How do I save a reel?", "payload": "ICEBREAKER_SAVE"}


def test_an_ice_breaker_from_an_unconnected_user_gets_the_verification_dm(webhook_stack):
    row = deliver_and_settle(webhook_stack, delivery(entry(item(postback=ICE_BREAKER))))

    assert row["status"] == "forwarded" and row["messages_forwarded"] == 1
    message = messages(webhook_stack)["mid.ice"]
    assert message["source"] == "postback" and message["sender_ig_id"] == USER
    assert message["message_text"] == "How do I save a reel?"
    assert message["postback_payload"] == "ICEBREAKER_SAVE"
    assert int(message["timestamp"].timestamp() * 1000) == SENT_MS
    [dm] = webhook_stack.outbound_settled(1)
    assert (dm["kind"], dm["status"], dm["message_id"]) == ("verification", "sent", "mid.ice")
    [sent] = webhook_stack.sandbox.messages()
    link = VERIFICATION_LINK.match(sent.text)
    assert link and link["ig_id"] == USER
    [token] = webhook_stack.rows("SELECT * FROM verification_tokens")
    assert token["created_by_event_id"] == "mid.ice"
    [profile] = webhook_stack.rows("SELECT * FROM instagram_profiles")
    assert int(profile["last_inbound_at"].timestamp() * 1000) == SENT_MS


def test_a_postback_from_a_connected_user_is_acknowledged_and_not_sent_to_phase3(webhook_stack):
    seed.a_connected_sender(webhook_stack.db, USER)
    tap = {"mid": "mid.tap", "title": "Yes please", "payload": "CONFIRM"}

    deliver_and_settle(webhook_stack, delivery(entry(item(postback=tap))))

    [dm] = webhook_stack.outbound_settled(1)
    assert (dm["kind"], dm["status"]) == ("acknowledgement", "sent")
    assert webhook_stack.sandbox.messages()[0].text == texts.ACKNOWLEDGEMENT
    message = messages(webhook_stack)["mid.tap"]
    assert message["source"] == "postback" and message["decided_at"] is not None
    assert message["processed"] is False
    assert webhook_stack.rows("SELECT * FROM phase3_queue") == []


def test_a_redelivered_postback_makes_no_second_message_or_dm(webhook_stack):
    payload = delivery(entry(item(postback=ICE_BREAKER)))
    deliver_and_settle(webhook_stack, payload)
    webhook_stack.outbound_settled(1)
    deliver_and_settle(webhook_stack, payload)

    assert list(messages(webhook_stack)) == ["mid.ice"]
    assert len(webhook_stack.sandbox.messages()) == 1


def test_a_postback_is_not_released_to_phase3_on_connecting(webhook_stack):
    deliver_and_settle(webhook_stack, delivery(entry(item(postback=ICE_BREAKER))))
    webhook_stack.outbound_settled(1)
    [sent] = webhook_stack.sandbox.messages()
    link = VERIFICATION_LINK.match(sent.text)

    response = webhook_stack.post(
        "/api/internal/verify",
        {
            "token": link["token"],
            "ig_id": USER,
            "user_id": "00000000-0000-4000-8000-000000000001",
        },
    )

    assert response.status_code == 200 and response.json()["released_messages"] == 0
    assert webhook_stack.rows("SELECT * FROM phase3_queue") == []
