"""Unsends and edits, end to end: signed webhook deliveries (or the internal ingest
endpoint), the real worker forwarding and processing them, the sandbox, Phase 3's queue."""

from __future__ import annotations

import datetime as dt
import json

from prometheus_client.parser import text_string_to_metric_families

from service.store.queries import QUERIES
from tests.support import seed
from tests.support.meta_payloads import (
    ACCOUNT,
    CDN,
    SENT_MS,
    USER,
    attachment,
    delivery,
    entry,
    item,
    message_item,
)
from tests.support.processes import start_worker
from tests.support.stack import SCRAPE, SERVICE_TOKEN, run_cli

REEL = attachment("ig_reel", reel_video_id="18087782618022081", title="a reel", url=CDN)
UNSENT_MS = SENT_MS + 60_000


def deliver_and_settle(stack, payload) -> dict:
    response = stack.deliver(payload)
    assert response.status_code == 200, response.text
    row = stack.delivery_settled(response.json()["delivery_id"])
    assert row["status"] == "forwarded", row["last_error"]
    return row


def send_reel(stack, mid: str = "mid.reel", *, timestamp: int = SENT_MS) -> None:
    sent = message_item(mid, text="look", attachments=[REEL], timestamp=timestamp)
    deliver_and_settle(stack, delivery(entry(sent)))
    stack.wait_decided(mid)


def unsend(stack, mid: str = "mid.reel") -> dict:
    return deliver_and_settle(
        stack, delivery(entry(message_item(mid, is_deleted=True, timestamp=UNSENT_MS)))
    )


def edit(stack, detail: dict, **header) -> dict:
    return deliver_and_settle(stack, delivery(entry(item(message_edit=detail, **header))))


def message(stack, mid: str = "mid.reel") -> dict:
    [row] = stack.rows("SELECT * FROM messages WHERE id = %s", mid)
    return row


def phase3(stack) -> list[tuple[str, str]]:
    return [
        (row["kind"], row["status"])
        for row in stack.rows("SELECT kind, status FROM phase3_queue ORDER BY id")
    ]


def claim(stack) -> list[dict]:
    params = {"consumer": "test", "limit": 10, "visibility_seconds": 30, "max_attempts": 5}
    return stack.db.execute(QUERIES["phase3_queue_claim"], params).fetchall()


def assert_cleared(row: dict) -> None:
    assert row["message_text"] is None and row["attachments"] is None
    assert row["shared_items"] == [] and row["deleted_at"] is not None


# --- unsends ------------------------------------------------------------------------------


def test_an_unsend_clears_the_message_and_withdraws_its_queued_phase3_row(webhook_stack, db):
    seed.a_connected_sender(db, USER)
    send_reel(webhook_stack)
    [ack] = webhook_stack.outbound_settled(1)
    assert phase3(webhook_stack) == [("message", "queued")]

    unsend(webhook_stack)

    assert_cleared(message(webhook_stack))
    assert phase3(webhook_stack) == [("message", "withdrawn")]
    assert claim(webhook_stack) == []  # never handed out
    assert webhook_stack.rows("SELECT id FROM outbound_messages") == [{"id": ack["id"]}]
    assert len(webhook_stack.sandbox.messages()) == 1


def test_an_unsend_of_a_message_phase3_completed_queues_a_deletion_notice(webhook_stack, db):
    seed.a_connected_sender(db, USER)
    send_reel(webhook_stack)
    drained = run_cli(webhook_stack.env, "phase3", "--once")
    assert drained.returncode == 0, drained.stderr
    assert phase3(webhook_stack) == [("message", "done")]

    unsend(webhook_stack)
    unsend(webhook_stack)  # a repeat changes nothing more

    assert_cleared(message(webhook_stack))
    assert phase3(webhook_stack) == [("message", "done"), ("deletion", "queued")]
    drained = run_cli(webhook_stack.env, "phase3", "--once")
    assert drained.returncode == 0, drained.stderr
    assert phase3(webhook_stack) == [("message", "done"), ("deletion", "done")]
    logged = [json.loads(line) for line in drained.stderr.splitlines() if line.startswith("{")]
    assert [(line["event"], line["message_id"]) for line in logged if "kind" in line] == [
        ("phase3 deletion", "mid.reel")
    ]


def test_an_unsend_of_a_claimed_message_takes_the_claim_back_and_queues_a_notice(webhook_stack, db):
    seed.a_connected_sender(db, USER)
    send_reel(webhook_stack)
    [held] = claim(webhook_stack)

    unsend(webhook_stack)

    assert phase3(webhook_stack) == [("message", "withdrawn"), ("deletion", "queued")]
    # The consumer that held the message finds its claim gone, and records nothing.
    completed = db.execute(
        QUERIES["phase3_queue_complete"], {"id": held["id"], "claim_token": held["claim_token"]}
    )
    assert completed.fetchone() == {"completed": False}
    # The notice waits for the lease the consumer held to run out.
    [notice] = webhook_stack.rows(
        "SELECT n.available_at AS notice_at, m.claimed_at FROM phase3_queue n"
        " JOIN phase3_queue m ON m.message_id = n.message_id AND m.kind = 'message'"
        " WHERE n.kind = 'deletion'"
    )
    assert notice["notice_at"] - notice["claimed_at"] >= dt.timedelta(seconds=29)


def test_an_unsend_before_its_message_is_remembered_and_the_message_stored_deleted(
    webhook_stack, db
):
    unsend(webhook_stack)
    [tombstone] = webhook_stack.rows("SELECT * FROM messages")
    assert_cleared(tombstone)

    send_reel(webhook_stack)

    row = message(webhook_stack)
    assert_cleared(row)
    assert row["processed"] is False and row["decided_at"] is not None
    assert (
        webhook_stack.rows(
            "SELECT * FROM procrastinate_jobs WHERE task_name = %s", "decide_message"
        )
        == []
    )
    assert webhook_stack.rows("SELECT * FROM outbound_messages") == []
    assert webhook_stack.rows("SELECT * FROM phase3_queue") == []
    assert webhook_stack.sandbox.messages() == []


def test_an_unsend_and_its_message_through_the_ingest_endpoint_before_it(stack):
    unsent = stack.ingest(mid="mid-u", is_deleted=True)
    assert unsent.status_code == 202, unsent.text
    stored = stack.ingest(mid="mid-u", message_text="gone before it came")
    assert stored.status_code == 202

    row = message(stack, "mid-u")
    assert_cleared(row)
    assert stack.rows("SELECT * FROM procrastinate_jobs WHERE task_name = 'decide_message'") == []
    assert stack.rows("SELECT * FROM outbound_messages") == []


def test_an_unsend_is_never_answered(webhook_stack):
    send_reel(webhook_stack)  # unconnected: a verification DM
    [verification] = webhook_stack.outbound_settled(1)

    unsend(webhook_stack)
    unsend(webhook_stack, "mid.never-seen")

    assert webhook_stack.rows("SELECT id FROM outbound_messages") == [{"id": verification["id"]}]
    assert len(webhook_stack.sandbox.messages()) == 1
    jobs = webhook_stack.rows("SELECT task_name FROM procrastinate_jobs ORDER BY id")
    assert [job["task_name"] for job in jobs].count("decide_message") == 1


def test_release_on_connect_skips_unsent_messages(webhook_stack, db):
    now_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)  # within RELEASE_WINDOW_DAYS
    send_reel(webhook_stack, "mid.kept", timestamp=now_ms)
    send_reel(webhook_stack, "mid.unsent", timestamp=now_ms + 1)
    unsend(webhook_stack, "mid.unsent")

    connected = run_cli(webhook_stack.env, "connect", USER)
    assert connected.returncode == 0, connected.stderr

    queued = webhook_stack.rows("SELECT message_id FROM phase3_queue")
    assert queued == [{"message_id": "mid.kept"}]


# --- edits --------------------------------------------------------------------------------


def test_an_edit_updates_the_text_and_counts_and_the_delivery_keeps_the_original(webhook_stack, db):
    seed.a_connected_sender(db, USER)
    send_reel(webhook_stack)

    edited_ms = SENT_MS + 5_000
    edit(
        webhook_stack, {"mid": "mid.reel", "text": "look again", "num_edit": 1}, timestamp=edited_ms
    )
    first = message(webhook_stack)
    edit(
        webhook_stack, {"mid": "mid.reel", "text": "look again", "num_edit": 1}, timestamp=edited_ms
    )

    row = message(webhook_stack)
    assert row["message_text"] == "look again" and row["edit_count"] == 1
    assert int(row["edited_at"].timestamp() * 1000) == edited_ms
    assert row["attachments"] == [REEL]
    assert row["updated_at"] == first["updated_at"]  # the repeat changed nothing
    bodies = [
        r["body"] for r in webhook_stack.rows("SELECT body FROM webhook_deliveries ORDER BY id")
    ]
    assert bodies[0]["entry"][0]["messaging"][0]["message"]["text"] == "look"
    assert len(webhook_stack.rows("SELECT * FROM message_edits")) == 1
    assert len(webhook_stack.sandbox.messages()) == 1  # the acknowledgement, nothing for edits


def test_a_late_earlier_edit_does_not_undo_a_later_one(webhook_stack):
    send_reel(webhook_stack)
    edit(webhook_stack, {"mid": "mid.reel", "text": "second", "num_edit": 2})
    edit(webhook_stack, {"mid": "mid.reel", "text": "first", "num_edit": 1})

    row = message(webhook_stack)
    assert row["message_text"] == "second" and row["edit_count"] == 2


def test_an_edit_of_an_unsent_message_leaves_it_cleared(webhook_stack):
    send_reel(webhook_stack)
    unsend(webhook_stack)
    edit(webhook_stack, {"mid": "mid.reel", "text": "back?", "num_edit": 1})

    assert_cleared(message(webhook_stack))


def test_an_edit_without_a_sender_is_counted_and_fails_the_check(webhook_stack):
    client = webhook_stack.client
    healthy = client.get("/api/internal/status", headers={"x-service-token": SERVICE_TOKEN})
    assert check(healthy.json(), "senderless_edits_in_window")["ok"] is True
    before = counter(client)

    senderless = {"recipient": {"id": ACCOUNT}, "timestamp": SENT_MS}
    senderless["message_edit"] = {"mid": "mid.unknown", "text": "hi", "num_edit": 0}
    edit_delivery = delivery(entry(senderless))
    deliver_and_settle(webhook_stack, edit_delivery)
    deliver_and_settle(webhook_stack, edit_delivery)  # Meta's redelivery counts once

    assert webhook_stack.rows("SELECT * FROM messages") == []
    [recorded] = webhook_stack.rows("SELECT * FROM message_edits")
    assert recorded["sender_ig_id"] is None and recorded["message_text"] == "hi"
    report = client.get("/api/internal/status", headers={"x-service-token": SERVICE_TOKEN})
    failing = check(report.json(), "senderless_edits_in_window")
    assert (failing["ok"], failing["value"], failing["limit"]) == (False, 1, 0)
    assert "Live" in failing["detail"]
    assert counter(client) == before + 1
    gauges = metrics(client)
    assert gauges[("ingest_check_ok", (("check", "senderless_edits_in_window"),))] == 0


def check(report: dict, name: str) -> dict:
    [found] = [c for c in report["checks"] if c["name"] == name]
    return found


def metrics(client) -> dict[tuple[str, tuple], float]:
    page = client.get("/metrics", headers=SCRAPE).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def counter(client) -> float:
    return metrics(client).get(("ingest_senderless_edits_total", ()), 0.0)


def test_a_message_unsent_before_its_processing_is_never_answered(api, db):
    seed.a_connected_sender(db, "user-1")
    assert api.ingest(mid="mid-w", message_text="wait").status_code == 202
    assert api.ingest(mid="mid-w", is_deleted=True).status_code == 202

    worker = start_worker(api.env, db)
    try:
        api.wait_decided("mid-w")
    finally:
        worker.terminate()
        worker.close()

    assert_cleared(message(api, "mid-w"))
    assert api.rows("SELECT * FROM outbound_messages") == []
    assert api.rows("SELECT * FROM phase3_queue") == []
    assert api.sandbox.messages() == []
