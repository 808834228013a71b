"""Meta's deliveries end to end: signed posts to the webhook, the real worker forwarding
them over HTTP to the app's ingest endpoint, and the rows and DMs that follow."""

from __future__ import annotations

import concurrent.futures
import json
import threading

import httpx

from service.webhooks.signatures import SIGNATURE_HEADER, signature
from tests.support import seed
from tests.support.meta_payloads import (
    ACCOUNT,
    CDN,
    ENTRY_MS,
    SENT_MS,
    USER,
    attachment,
    dashboard_test_delivery,
    delivery,
    entry,
    item,
    message_item,
)
from tests.support.stack import APP_SECRET, WEBHOOK, wait_until

OTHER_USER = "1254009876543210"


def deliver_and_settle(stack, payload) -> dict:
    response = stack.deliver(payload)
    assert response.status_code == 200, response.text
    return stack.delivery_settled(response.json()["delivery_id"])


def job_log_line(stack, delivery_id: int) -> dict:
    """The worker's one log line for this delivery's forwarding."""

    def line():
        for text in stack.worker.output().splitlines():
            if text.startswith("{"):
                logged = json.loads(text)
                if (
                    logged.get("event") == "forward_delivery"
                    and logged.get("delivery_id") == delivery_id
                ):
                    return logged
        return None

    return wait_until(line, what="the forward_delivery log line")


def messages(stack) -> dict[str, dict]:
    return {row["id"]: row for row in stack.rows("SELECT * FROM messages")}


def test_a_text_message_is_stored_and_answered_with_a_verification_dm(webhook_stack):
    row = deliver_and_settle(
        webhook_stack, delivery(entry(message_item("mid.text", text="Check this reel out!")))
    )

    assert row["status"] == "forwarded" and row["messages_forwarded"] == 1
    assert row["attempts"] == 1 and row["last_error"] is None
    [message] = messages(webhook_stack).values()
    assert message["id"] == "mid.text" and message["message_text"] == "Check this reel out!"
    assert message["sender_ig_id"] == USER and message["recipient_ig_id"] == ACCOUNT
    assert int(message["timestamp"].timestamp() * 1000) == SENT_MS
    [dm] = webhook_stack.outbound_settled(1)
    assert dm["kind"] == "verification" and dm["recipient_ig_id"] == USER
    assert dm["status"] == "sent" and len(webhook_stack.sandbox.messages()) == 1


ATTACHMENTS = [
    attachment("image", url=CDN),
    attachment("video", url=CDN),
    attachment("audio", url=CDN),
    attachment("file", url=CDN),
    attachment("share", url=CDN),
    attachment("story_mention", url=CDN),
    attachment("ig_reel", reel_video_id="18087782618022081", title="a reel", url=CDN),
    attachment("ig_post", ig_post_media_id="18139494541428835", title="a post", url=CDN),
    attachment("ephemeral"),
    attachment("like_heart"),
]


def test_every_attachment_type_is_stored_as_received_and_acknowledged(webhook_stack, db):
    seed.a_connected_sender(db, USER)
    items = [
        message_item(f"mid.{a['type']}", attachments=[a], timestamp=SENT_MS + n)
        for n, a in enumerate(ATTACHMENTS)
    ]
    row = deliver_and_settle(webhook_stack, delivery(entry(*items)))

    assert row["status"] == "forwarded" and row["messages_forwarded"] == len(ATTACHMENTS)
    stored = messages(webhook_stack)
    for sent in ATTACHMENTS:
        assert stored[f"mid.{sent['type']}"]["attachments"] == [sent], sent["type"]
    dms = webhook_stack.outbound_settled(len(ATTACHMENTS))
    assert {dm["kind"] for dm in dms} == {"acknowledgement"}
    assert len(webhook_stack.rows("SELECT * FROM phase3_queue")) == len(ATTACHMENTS)


def test_a_story_mention_from_an_unconnected_user_gets_a_verification_dm(webhook_stack):
    mention = attachment("story_mention", url=CDN)
    deliver_and_settle(
        webhook_stack, delivery(entry(message_item("mid.story", attachments=[mention])))
    )

    assert messages(webhook_stack)["mid.story"]["attachments"] == [mention]
    [dm] = webhook_stack.outbound_settled(1)
    assert dm["kind"] == "verification" and dm["status"] == "sent"


def test_a_batch_of_entries_and_events_is_read_in_full(webhook_stack):
    payload = delivery(
        entry(
            message_item("mid.a1", text="one"),
            item(
                reaction={"mid": "mid.a1", "action": "react", "reaction": "love", "emoji": "\u2764"}
            ),
            message_item("mid.a2", text="two", timestamp=SENT_MS + 1),
        ),
        entry(
            message_item("mid.b1", text="three", sender=OTHER_USER),
            item(sender=OTHER_USER, read={"mid": "mid.out"}),
            time=ENTRY_MS + 5,
        ),
    )
    row = deliver_and_settle(webhook_stack, payload)

    assert row["status"] == "forwarded" and row["messages_forwarded"] == 3
    assert set(messages(webhook_stack)) == {"mid.a1", "mid.a2", "mid.b1"}
    webhook_stack.wait_decided("mid.a2")
    dms = webhook_stack.outbound_settled(2)
    # One verification per user: the second message falls in the first one's resend window.
    assert sorted(dm["recipient_ig_id"] for dm in dms) == sorted([USER, OTHER_USER])


def test_a_delivery_of_many_messages_reaches_the_ingest_endpoint_in_one_request(
    webhook_stack, capfd
):
    many = [message_item(f"mid.many{n}", text=f"#{n}", timestamp=SENT_MS + n) for n in range(50)]
    row = deliver_and_settle(webhook_stack, delivery(entry(*many)))

    assert row["status"] == "forwarded" and row["messages_forwarded"] == 50
    assert len(messages(webhook_stack)) == 50
    logged = capfd.readouterr().out  # the app's request log lines
    assert logged.count("path=/api/internal/ingest-events ") == 1, logged
    assert "path=/api/internal/ingest-event " not in logged


def test_an_echo_of_our_own_dm_is_recorded_but_never_answered(webhook_stack):
    deliver_and_settle(
        webhook_stack,
        delivery(
            entry(
                message_item(
                    "mid.echo",
                    text="Hi! Send your reels",
                    sender=ACCOUNT,
                    recipient=USER,
                    is_echo=True,
                )
            )
        ),
    )

    webhook_stack.wait_decided("mid.echo")
    assert messages(webhook_stack)["mid.echo"]["is_echo"] is True
    assert webhook_stack.rows("SELECT * FROM outbound_messages") == []
    assert webhook_stack.sandbox.messages() == []


def test_unsupported_messages_are_kept_only_in_the_delivery(webhook_stack):
    payload = delivery(entry(message_item("mid.gif", is_unsupported=True)))
    row = deliver_and_settle(webhook_stack, payload)

    assert row["status"] == "forwarded" and row["messages_forwarded"] == 0
    assert messages(webhook_stack) == {}
    assert webhook_stack.rows("SELECT * FROM outbound_messages") == []
    [kept] = webhook_stack.rows("SELECT body FROM webhook_deliveries")
    assert kept["body"] == payload
    logged = job_log_line(webhook_stack, row["id"])
    assert logged["held_back"] == {"unsupported": 1}


def test_a_standby_message_is_recorded_but_left_to_the_app_in_control(webhook_stack, db):
    seed.a_connected_sender(db, USER)
    row = deliver_and_settle(
        webhook_stack,
        delivery(entry(standby=[message_item("mid.standby", text="another app answers this")])),
    )

    assert row["status"] == "forwarded" and row["messages_forwarded"] == 1
    webhook_stack.wait_decided("mid.standby")
    message = messages(webhook_stack)["mid.standby"]
    assert message["source"] == "standby" and message["processed"] is False
    assert webhook_stack.rows("SELECT * FROM outbound_messages") == []
    assert webhook_stack.rows("SELECT * FROM phase3_queue") == []


def test_reactions_reads_and_unknown_events_are_acknowledged_and_never_answered(webhook_stack):
    payload = delivery(
        entry(
            item(reaction={"mid": "mid.1", "action": "react", "reaction": "love"}),
            item(read={"mid": "mid.out"}),
            # Without a mid (a tap is stored as a message only with one: test_postbacks).
            item(postback={"title": "Get started", "payload": "START"}),
            item(referral={"ref": "ad-7", "source": "ADS", "type": "OPEN_THREAD"}),
            item(something_new={"x": 1}),
        )
    )
    row = deliver_and_settle(webhook_stack, payload)

    assert row["status"] == "forwarded" and row["messages_forwarded"] == 0
    assert messages(webhook_stack) == {}
    assert webhook_stack.rows("SELECT * FROM outbound_messages") == []
    logged = job_log_line(webhook_stack, row["id"])
    assert logged["other_events"] == {
        "reaction": 1,
        "read": 1,
        "postback": 1,
        "referral": 1,
        "unknown": 1,
    }
    assert any("unrecognised event" in warning for warning in logged["warnings"])


def test_a_redelivered_delivery_makes_no_second_message_or_dm(webhook_stack):
    # Meta's redelivery of the message, in a batch of its own: other bytes, the same mid.
    first = deliver_and_settle(webhook_stack, delivery(entry(message_item("mid.dup", text="x"))))
    webhook_stack.outbound_settled(1)
    again = delivery(entry(message_item("mid.dup", text="x"), time=ENTRY_MS + 1000))
    second = deliver_and_settle(webhook_stack, again)

    assert first["id"] != second["id"] and second["status"] == "forwarded"
    assert list(messages(webhook_stack)) == ["mid.dup"]
    assert len(webhook_stack.rows("SELECT * FROM outbound_messages")) == 1
    assert len(webhook_stack.sandbox.messages()) == 1


def test_the_dashboard_test_delivery_is_stored_with_its_seconds_timestamp(webhook_stack):
    deliver_and_settle(webhook_stack, dashboard_test_delivery())

    message = messages(webhook_stack)["random_mid"]
    assert message["timestamp"].timestamp() == 1_527_459_824


def test_a_message_without_any_time_takes_the_delivery_received_time(webhook_stack):
    row = deliver_and_settle(
        webhook_stack,
        delivery(entry(message_item("mid.untimed", text="when?", timestamp=None), time=None)),
    )

    message = messages(webhook_stack)["mid.untimed"]
    assert abs((message["timestamp"] - row["received_at"]).total_seconds()) < 0.001


def test_a_message_the_ingest_endpoint_would_refuse_fails_the_delivery_but_not_the_others(
    webhook_stack,
):
    too_long = "m" * 300  # the ingest endpoint takes ids of at most 256 characters
    row = deliver_and_settle(
        webhook_stack,
        delivery(
            entry(
                message_item(too_long, text="refused"),
                message_item("mid.fine", text="kept", timestamp=SENT_MS + 1),
                message_item("mid.object", attachments={"type": "share"}, timestamp=SENT_MS + 2),
                message_item("mid.控制\x1b", text="refused too", timestamp=SENT_MS + 3),
            )
        ),
    )

    assert row["status"] == "failed" and row["attempts"] == 1
    assert row["messages_forwarded"] == 2
    assert row["last_error"] == (
        "2 refused: entry[0].messaging[0]: message refused, no valid mid; "
        "entry[0].messaging[3]: message refused, no valid mid"
    )
    stored = messages(webhook_stack)
    assert sorted(stored) == ["mid.fine", "mid.object"]
    assert stored["mid.object"]["attachments"] == {"type": "share"}  # as Meta sent it


def test_the_same_signed_body_posted_again_within_a_day_is_answered_200_and_stored_once(
    webhook_stack,
):
    body = json.dumps(delivery(entry(message_item("mid.replayed", text="again")))).encode()
    first, second = webhook_stack.deliver(body), webhook_stack.deliver(body)

    assert first.status_code == second.status_code == 200
    assert first.json()["success"] is True and first.json()["duplicate"] is False
    assert second.json() == {**first.json(), "duplicate": True}
    assert deliver_and_settle(webhook_stack, body)["attempts"] == 1
    assert len(webhook_stack.rows("SELECT * FROM webhook_deliveries")) == 1
    jobs = webhook_stack.rows(
        "SELECT * FROM procrastinate_jobs WHERE task_name = 'forward_delivery'"
    )
    assert len(jobs) == 1
    assert list(messages(webhook_stack)) == ["mid.replayed"]
    webhook_stack.outbound_settled(1)
    assert len(webhook_stack.sandbox.messages()) == 1


def test_the_same_signed_body_posted_concurrently_is_stored_once(webhook_stack):
    body = json.dumps(delivery(entry(message_item("mid.racing", text="at once")))).encode()
    headers = {"content-type": "application/json", SIGNATURE_HEADER: signature(APP_SECRET, body)}
    url = f"{webhook_stack.live_server.url}{WEBHOOK}"
    start = threading.Barrier(8)

    def post(_: int) -> httpx.Response:
        start.wait(timeout=30)
        return httpx.post(url, content=body, headers=headers, timeout=30)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, range(8)))

    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.json()["delivery_id"] for a in answers}) == 1
    assert sum(not a.json()["duplicate"] for a in answers) == 1
    [row] = webhook_stack.rows("SELECT id FROM webhook_deliveries")
    deliver_and_settle(webhook_stack, body)
    assert list(messages(webhook_stack)) == ["mid.racing"]
    webhook_stack.outbound_settled(1)
    assert len(webhook_stack.rows("SELECT * FROM outbound_messages")) == 1
    assert len(webhook_stack.sandbox.messages()) == 1


def test_the_same_body_posted_a_day_later_is_stored_again(webhook_stack):
    body = json.dumps(delivery(entry(message_item("mid.later", text="later")))).encode()
    first = deliver_and_settle(webhook_stack, body)
    webhook_stack.db.execute(
        "UPDATE webhook_deliveries SET received_at = now() - interval '25 hours'"
    )

    second = webhook_stack.deliver(body).json()
    assert second["duplicate"] is False and second["delivery_id"] != first["id"]
    assert webhook_stack.delivery_settled(second["delivery_id"])["status"] == "forwarded"
    assert len(webhook_stack.rows("SELECT * FROM webhook_deliveries")) == 2
    assert list(messages(webhook_stack)) == ["mid.later"]  # the mid is known: no second
    assert len(webhook_stack.rows("SELECT * FROM outbound_messages")) == 1
