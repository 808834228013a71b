"""The batch form of the ingest endpoint, `POST /api/internal/ingest-events`: each event
stored and queued as `ingest-event` does it, all in one statement, in the events' order."""

from __future__ import annotations

import pytest

from tests.e2e.test_internal_api import GOOD_EVENT, NOTHING, stored
from tests.support.stack import SERVICE_TOKEN

BATCH = "/api/internal/ingest-events"


def event(mid: str, **fields) -> dict:
    return {**GOOD_EVENT, "mid": mid, **fields}


def jobs(api) -> list[str]:
    """The deferred jobs' mids, in the order a worker takes them."""
    rows = api.rows("SELECT args FROM procrastinate_jobs ORDER BY priority DESC, id")
    return [row["args"]["mid"] for row in rows]


def test_each_new_message_is_stored_with_one_job_in_the_events_order(api):
    api.ingest(mid="known", sender_ig_id="user-1")
    response = api.post(
        BATCH,
        {
            "events": [
                event("b-3", sender_ig_id="user-1", timestamp="1734123400"),
                event("known"),
                event("b-1", sender_ig_id="user-2", timestamp="1734123999"),
                event("b-3", message_text="a repeat in the batch changes nothing"),
                event("b-2", sender_ig_id="user-3", is_echo=True),
            ]
        },
    )

    assert response.status_code == 202, response.text
    assert response.json() == {
        "success": True,
        "message": "Events accepted for processing",
        "accepted": 5,
        "new": 3,
    }
    assert jobs(api) == ["known", "b-3", "b-1", "b-2"]
    texts = {row["id"]: row["message_text"] for row in api.rows("SELECT * FROM messages")}
    assert texts == {"known": "Hello", "b-3": "Hello", "b-1": "Hello", "b-2": "Hello"}
    # Each sender's window at their latest message; an echo (our own DM) opens none.
    windows = {
        row["ig_id"]: int(row["at"])
        for row in api.rows(
            "SELECT ig_id, extract(epoch FROM last_inbound_at) AS at FROM instagram_profiles"
        )
    }
    assert windows == {"user-1": 1734123456, "user-2": 1734123999}


def test_the_same_batch_again_changes_nothing(api):
    batch = {"events": [event("r-1"), event("r-2")]}
    assert api.post(BATCH, batch).json()["new"] == 2
    again = api.post(BATCH, batch)
    assert again.status_code == 202 and again.json()["new"] == 0
    assert jobs(api) == ["r-1", "r-2"]


def test_an_unsend_after_its_message_in_the_batch_finds_it_stored(api):
    response = api.post(
        BATCH,
        {
            "events": [
                event("u-1", message_text="taken back"),
                event("u-1", is_deleted=True),
                event("u-2", is_deleted=True),
                event("u-2", message_text="arrives after its unsend"),
                event("u-3"),
            ]
        },
    )

    assert response.status_code == 202, response.text
    # New: u-1, its unsend, u-2's unsend (remembered), u-3; not u-2, unsent before it came.
    assert response.json()["new"] == 4
    rows = {row["id"]: row for row in api.rows("SELECT * FROM messages")}
    assert rows["u-1"]["message_text"] is None and rows["u-1"]["deleted_at"] is not None
    assert rows["u-2"]["message_text"] is None and rows["u-2"]["decided_at"] is not None
    assert rows["u-3"]["message_text"] == "Hello"
    assert jobs(api) == ["u-1", "u-3"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"events": [event("ok-1"), event("bad", timestamp="yesterday")]}, "events[1].timestamp"),
        ({"events": [event("ok-1"), {**event("bad"), "mid": ""}]}, "events[1].mid"),
        ({"events": [event("ok-1"), {"mid": "no-sender"}]}, "sender_ig_id"),
        ({"events": []}, "events"),
        ({"events": [event(f"m-{n}") for n in range(1001)]}, "events"),
        ({"event": [event("ok-1")]}, "events"),
    ],
)
def test_one_bad_event_refuses_the_batch_and_stores_nothing(api, body, fragment):
    response = api.post(BATCH, body)

    assert response.status_code == 400, response.text
    assert fragment in response.text
    assert stored(api) == NOTHING


def test_an_event_postgres_cannot_store_refuses_the_whole_batch_unsends_included(api):
    api.ingest(mid="kept", message_text="stays as it was")
    # jsonb cannot hold \u0000: only the database finds this event bad, after the message and
    # the unsend before it were stored.
    unstorable = event("bad", attachments=[{"type": "image", "payload": {"url": "\u0000"}}])
    body = {"events": [event("ok-1"), event("kept", is_deleted=True), unstorable]}

    response = api.post(BATCH, body)

    assert response.status_code == 422, response.text
    assert "cannot be stored" in response.json()["detail"]
    rows = api.rows("SELECT id, message_text, deleted_at FROM messages")
    assert [(row["id"], row["message_text"], row["deleted_at"]) for row in rows] == [
        ("kept", "stays as it was", None)
    ]
    assert jobs(api) == ["kept"]


def test_the_batch_needs_the_service_token(api):
    response = api.post(BATCH, {"events": [event("m-1")]}, token=SERVICE_TOKEN + "x")
    assert response.status_code == 401
    assert stored(api) == NOTHING
