"""The three flows (unconnected, connected, duplicate), end to end: HTTP API, a real worker,
the Graph API sandbox."""

from __future__ import annotations

import hashlib
import re

from service.dms import texts
from tests.support import seed
from tests.support.stack import SCOPED_ID

VERIFICATION_LINK = re.compile(
    r"^Hey — welcome to Reeva! It looks like you haven't connected your Instagram account "
    r"to Reeva yet\. Click the link below to connect and view your saved reels and posts:"
    r"\n\nhttps://c702be487ed4\.ngrok-free\.app/verify\?token=(?P<token>[0-9a-f]{64})"
    r"&ig_id=(?P<ig_id>[^&\s]+)$"
)
ACCEPTED = {"success": True, "message": "Event accepted for processing", "duplicate": False}


def test_unconnected_user_gets_a_verification_dm(stack, db):
    response = stack.ingest(mid="test_msg_001", sender_ig_id="unconnected_user_123")
    assert response.status_code == 202
    assert response.json() == ACCEPTED

    [dm] = stack.outbound_settled(1)
    assert dm["kind"] == "verification" and dm["status"] == "sent" and dm["attempts"] == 1
    assert dm["recipient_ig_id"] == "unconnected_user_123"
    [sent] = stack.sandbox.messages()
    assert dm["remote_message_id"] == sent.message_id
    assert sent.recipient_id == "unconnected_user_123"
    link = VERIFICATION_LINK.match(sent.text)
    assert link, sent.text
    assert link["ig_id"] == "unconnected_user_123"

    [profile] = stack.rows("SELECT * FROM instagram_profiles")
    assert profile["ig_id"] == "unconnected_user_123" and profile["connected_user_id"] is None
    [message] = stack.rows("SELECT * FROM messages")
    assert message["id"] == "test_msg_001" and message["processed"] is False
    assert message["message_text"] == "Hello" and message["decided_at"] is not None
    [token] = stack.rows("SELECT *, expires_at - created_at AS ttl FROM verification_tokens")
    assert token["token_hash"] == hashlib.sha256(link["token"].encode()).hexdigest()
    assert token["ig_id"] == "unconnected_user_123"
    assert token["consumed"] is False and token["created_by_event_id"] == "test_msg_001"
    assert token["ttl"].total_seconds() == 3600
    assert stack.rows("SELECT * FROM phase3_queue") == []


def test_connected_user_gets_an_acknowledgement_and_reaches_phase3(stack, db):
    user_id = seed.a_connected_sender(db, "connected_user_456")
    response = stack.ingest(
        mid="test_msg_002", sender_ig_id="connected_user_456", message_text="Check this reel out!"
    )
    assert response.status_code == 202 and response.json() == ACCEPTED

    [dm] = stack.outbound_settled(1)
    assert dm["kind"] == "acknowledgement" and dm["status"] == "sent"
    [sent] = stack.sandbox.messages()
    assert (
        sent.text == "Hi! Send your reels and posts here and we'll save them to your Reeva library."
    )
    assert sent.recipient_id == "connected_user_456"
    [message] = stack.rows("SELECT * FROM messages")
    assert message["processed"] is True
    [queued] = stack.rows("SELECT * FROM phase3_queue")
    assert queued["message_id"] == "test_msg_002" and queued["status"] == "queued"
    assert queued["connected_user_id"] == user_id and queued["ig_id"] == "connected_user_456"
    assert stack.rows("SELECT * FROM verification_tokens") == []


def test_a_message_is_one_job_that_also_sends_its_dm(stack, db):
    seed.a_connected_sender(db, "user-1")
    stack.ingest(mid="one-job", sender_ig_id="user-1")
    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "sent" and dm["attempts"] == 1
    # The sender's profile is fetched by a job of its own, in the background: not the DM's.
    jobs = stack.wait(
        lambda: stack.rows(
            "SELECT task_name, args, status FROM procrastinate_jobs"
            " WHERE queue_name NOT IN ('maintenance', 'profiles') AND status = 'succeeded'"
        ),
        what="the message's job to succeed",
    )
    assert jobs == [
        {"task_name": "decide_message", "args": {"mid": "one-job"}, "status": "succeeded"}
    ]
    assert (
        stack.rows(
            "SELECT * FROM procrastinate_jobs WHERE queue_name NOT IN ('maintenance', 'profiles')"
            " AND status <> 'succeeded'"
        )
        == []
    )


def test_duplicate_webhook_is_idempotent(stack, db):
    first = stack.ingest(mid="duplicate_test_001", sender_ig_id="test_user", message_text="Test")
    second = stack.ingest(mid="duplicate_test_001", sender_ig_id="test_user", message_text="Test")
    assert first.status_code == second.status_code == 202
    assert first.json() == ACCEPTED and second.json() == {**ACCEPTED, "duplicate": True}

    stack.outbound_settled(1)
    assert len(stack.rows("SELECT * FROM messages WHERE id = 'duplicate_test_001'")) == 1
    assert len(stack.rows("SELECT * FROM verification_tokens WHERE ig_id = 'test_user'")) == 1
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1
    jobs = stack.rows("SELECT * FROM procrastinate_jobs WHERE task_name = 'decide_message'")
    assert len(jobs) == 1
    assert len(stack.sandbox.messages()) == 1


def test_second_message_within_the_resend_window_sends_no_second_verification(stack, db):
    stack.ingest(mid="m-1", sender_ig_id="user-9")
    stack.outbound_settled(1)
    stack.ingest(mid="m-2", sender_ig_id="user-9")
    stack.wait_decided("m-2")
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1
    assert len(stack.rows("SELECT * FROM verification_tokens")) == 1
    assert len(stack.sandbox.messages()) == 1


def test_echo_is_recorded_but_never_answered(stack, db):
    response = stack.ingest(
        mid="echo-1", sender_ig_id=SCOPED_ID, recipient_ig_id="user-1", is_echo=True
    )
    assert response.status_code == 202
    stack.wait_decided("echo-1")
    assert stack.rows("SELECT * FROM outbound_messages") == []
    assert stack.rows("SELECT * FROM instagram_profiles") == []


def test_a_standby_message_is_recorded_but_never_answered(stack, db):
    seed.a_connected_sender(db, "user-1")
    response = stack.ingest(mid="standby-1", sender_ig_id="user-1", source="standby")
    assert response.status_code == 202
    stack.wait_decided("standby-1")
    [message] = stack.rows("SELECT * FROM messages")
    assert message["source"] == "standby" and message["processed"] is False
    assert stack.rows("SELECT * FROM outbound_messages") == []
    assert stack.rows("SELECT * FROM phase3_queue") == []


def test_acknowledgement_text_is_the_spec_text():
    assert texts.ACKNOWLEDGEMENT == (
        "Hi! Send your reels and posts here and we'll save them to your Reeva library."
    )
