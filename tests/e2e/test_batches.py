"""Messages decided and answered together: a worker that finds `decide_message` jobs waiting
takes them with the one it runs, decides their messages in one transaction and sends their
DMs together (`service.messages.batches`), with the outcomes of one message at a time."""

from __future__ import annotations

import json

from tests.support import seed
from tests.support.processes import start_worker, wait_until
from tests.support.stack import SCOPED_ID

BATCH = "/api/internal/ingest-events"


def batch_sizes(output: str) -> list[int]:
    """The `batch` of each `decide_message` line the worker logged (JSON lines)."""
    lines = (json.loads(line) for line in output.splitlines() if line.startswith("{"))
    return [
        line["batch"] for line in lines if line.get("event") == "decide_message" and "batch" in line
    ]


def event(mid: str, sender: str, timestamp: int) -> dict:
    return {
        "mid": mid,
        "sender_ig_id": sender,
        "recipient_ig_id": SCOPED_ID,
        "timestamp": str(timestamp),
        "message_text": f"text of {mid}",
    }


def test_waiting_messages_are_decided_together_as_one_at_a_time_would(api, db, sandbox):
    connected = [f"c-{n}" for n in range(12)]
    users = {ig_id: seed.a_connected_sender(db, ig_id) for ig_id in connected}
    unconnected = [f"u-{n}" for n in range(4)]
    # Each sender twice, their messages apart in the line: batches meet both orders.
    events = [
        event(f"{sender}-{turn}", sender, 1734123400 + turn)
        for turn in (1, 2)
        for sender in connected + unconnected
    ]
    response = api.post(BATCH, {"events": events})
    assert response.status_code == 202, response.text

    # One deciding slot: its first job takes every other, so all of a sender's messages meet
    # in one batch, whose decisions must come out as one message at a time would.
    worker = start_worker(api.env | {"DECIDE_BATCH_SIZE": "64", "DECIDE_CONCURRENCY": "1"}, db)
    try:
        wait_until(
            lambda: api.rows(
                "SELECT 1 FROM procrastinate_jobs WHERE task_name = 'decide_message'"
                " HAVING count(*) FILTER (WHERE status = 'succeeded') = %s",
                len(events),
            ),
            what="every message's job finished",
        )
        dms = api.outbound_settled(len(connected) * 2 + len(unconnected))
        output = worker.output()
    finally:
        worker.terminate()
        worker.close()

    sizes = batch_sizes(output)
    assert sizes == [len(events)], output
    assert all(dm["status"] == "sent" and dm["attempts"] == 1 for dm in dms)
    acks = sorted(dm["message_id"] for dm in dms if dm["kind"] == "acknowledgement")
    assert acks == sorted(e["mid"] for e in events if e["sender_ig_id"] in users)
    # One verification DM per unconnected sender: their second message finds it under way.
    verifications = [dm for dm in dms if dm["kind"] == "verification"]
    assert sorted(dm["recipient_ig_id"] for dm in verifications) == unconnected
    assert {dm["message_id"] for dm in verifications} == {f"{u}-1" for u in unconnected}
    assert len(sandbox.messages()) == len(dms)
    # Phase 3 has every connected message, each sender's in the order they came.
    queued = api.rows("SELECT message_id, ig_id, connected_user_id FROM phase3_queue ORDER BY id")
    assert len(queued) == len(connected) * 2
    for sender in connected:
        mine = [row for row in queued if row["ig_id"] == sender]
        assert [row["message_id"] for row in mine] == [f"{sender}-1", f"{sender}-2"]
        assert {row["connected_user_id"] for row in mine} == {users[sender]}
    # Each sender's profile asked for, once, whichever batch their messages met, and the
    # account's job to fetch them.
    asked = api.rows(
        "SELECT ig_id FROM instagram_profiles"
        " WHERE profile_requested_at IS NOT NULL OR profile_fetched_at IS NOT NULL"
    )
    assert sorted(row["ig_id"] for row in asked) == sorted(connected + unconnected)
    fetchers = api.rows(
        "SELECT args FROM procrastinate_jobs WHERE task_name = 'fetch_sender_profiles'"
    )
    assert {row["args"]["account"] for row in fetchers} == {SCOPED_ID}
    undecided = api.rows("SELECT id FROM messages WHERE decided_at IS NULL")
    assert undecided == []
    unfinished = api.rows(
        "SELECT task_name, status FROM procrastinate_jobs"
        " WHERE status <> 'succeeded' AND task_name <> 'fetch_sender_profiles'"
    )
    assert unfinished == []


def test_a_batch_of_one_is_a_message_alone(api, db):
    seed.a_connected_sender(db, "alone")
    api.ingest(mid="alone-1", sender_ig_id="alone")
    worker = start_worker(api.env, db)
    try:
        [dm] = api.outbound_settled(1)
        output = worker.output()
    finally:
        worker.terminate()
        worker.close()
    assert dm["status"] == "sent"
    assert batch_sizes(output) == []


def test_batches_side_by_side_decide_each_message_once(api, db, sandbox):
    connected = [f"s-{n}" for n in range(20)]
    for ig_id in connected:
        seed.a_connected_sender(db, ig_id)
    unconnected = [f"v-{n}" for n in range(5)]
    events = [
        event(f"{sender}-{turn}", sender, 1734123400 + turn)
        for turn in (1, 2, 3)
        for sender in connected + unconnected
    ]
    assert api.post(BATCH, {"events": events}).status_code == 202

    workers = [start_worker(api.env | {"DECIDE_BATCH_SIZE": "5"}, db) for _ in range(2)]
    try:
        dms = api.outbound_settled(len(connected) * 3 + len(unconnected))
        wait_until(
            lambda: api.rows(
                "SELECT 1 FROM messages HAVING count(*) FILTER (WHERE decided_at IS NULL) = 0"
            ),
            what="every message decided",
        )
    finally:
        for worker in workers:
            worker.terminate()
            worker.close()

    assert all(dm["status"] == "sent" and dm["attempts"] == 1 for dm in dms)
    kinds = sorted((dm["kind"], dm["recipient_ig_id"]) for dm in dms)
    expected = [("acknowledgement", s) for s in connected for _ in range(3)]
    assert kinds == sorted(expected + [("verification", v) for v in unconnected])
    assert len(sandbox.messages()) == len(dms)
    queued = api.rows("SELECT message_id FROM phase3_queue")
    assert sorted(row["message_id"] for row in queued) == sorted(
        e["mid"] for e in events if e["sender_ig_id"] in connected
    )
