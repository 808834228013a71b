"""Edits and unsends in whatever order they arrive, through the internal endpoints: an edit
that comes before its message is applied when the message is stored, and an unsend leaves no
copy of the message's text behind: in `messages`, in `message_edits` or in the stored webhook
deliveries."""

from __future__ import annotations

import json

from tests.support.meta_payloads import CDN, attachment, delivery, entry, item, message_item
from tests.support.stack import SCOPED_ID

EDIT = "/api/internal/ingest-edit"
BATCH = "/api/internal/ingest-events"
SENT = 1_734_123_456_000


def message(mid: str = "mid-1", **fields) -> dict:
    return {
        "mid": mid,
        "sender_ig_id": "user-1",
        "recipient_ig_id": SCOPED_ID,
        "timestamp": SENT,
        "message_text": "the original",
        **fields,
    }


def edit(api, num_edit: int, text: str | None, *, mid: str = "mid-1") -> None:
    body = {"mid": mid, "timestamp": SENT + num_edit * 1000, "num_edit": num_edit, "text": text}
    response = api.post(EDIT, body)
    assert response.status_code == 202, response.text


def stored(api, mid: str = "mid-1") -> dict:
    [row] = api.rows(
        "SELECT message_text, edit_count, extract(epoch FROM edited_at) * 1000 AS edited_ms"
        " FROM messages WHERE id = %s",
        mid,
    )
    return {**row, "edited_ms": None if row["edited_ms"] is None else int(row["edited_ms"])}


def edit_texts(api, mid: str = "mid-1") -> dict[int, str | None]:
    rows = api.rows("SELECT num_edit, message_text FROM message_edits WHERE message_id = %s", mid)
    return {row["num_edit"]: row["message_text"] for row in rows}


# --- edits before their message ---------------------------------------------------------------


def test_an_edit_that_arrives_before_its_message_is_applied_when_it_is_stored(api):
    edit(api, 1, "edited before it arrived")

    assert api.post("/api/internal/ingest-event", message()).status_code == 202

    assert stored(api) == {
        "message_text": "edited before it arrived",
        "edit_count": 1,
        "edited_ms": SENT + 1000,
    }
    [row] = api.rows("SELECT applied FROM message_edits")
    assert row["applied"] is True


def test_of_several_waiting_edits_the_highest_num_edit_wins_whatever_their_order(api):
    edit(api, 2, "second", mid="mid-a")
    edit(api, 3, "third", mid="mid-a")
    edit(api, 1, "first", mid="mid-a")
    edit(api, 1, "only edit of b", mid="mid-b")

    response = api.post(BATCH, {"events": [message("mid-a"), message("mid-b"), message("mid-c")]})

    assert response.status_code == 202, response.text
    assert stored(api, "mid-a")["message_text"] == "third"
    assert stored(api, "mid-a")["edit_count"] == 3
    assert stored(api, "mid-b")["message_text"] == "only edit of b"
    assert stored(api, "mid-c") == {
        "message_text": "the original",
        "edit_count": 0,
        "edited_ms": None,
    }


def test_an_edit_waiting_for_a_message_that_was_unsent_first_gives_it_no_text(api):
    edit(api, 1, "edited")
    assert api.post("/api/internal/ingest-event", message(is_deleted=True)).status_code == 202
    assert api.post("/api/internal/ingest-event", message()).status_code == 202

    assert stored(api)["message_text"] is None
    assert edit_texts(api) == {1: None}


# --- unsends leave no text -------------------------------------------------------------------


def test_an_unsend_clears_the_text_of_every_edit_of_the_message(api):
    assert api.post("/api/internal/ingest-event", message()).status_code == 202
    edit(api, 1, "a first thought")
    edit(api, 2, "a second thought")

    assert api.post("/api/internal/ingest-event", message(is_deleted=True)).status_code == 202

    assert stored(api)["message_text"] is None
    assert edit_texts(api) == {1: None, 2: None}


def test_an_edit_after_the_unsend_is_recorded_without_its_text(api):
    assert api.post("/api/internal/ingest-event", message()).status_code == 202
    assert api.post("/api/internal/ingest-event", message(is_deleted=True)).status_code == 202

    edit(api, 1, "too late")

    assert stored(api)["message_text"] is None
    assert edit_texts(api) == {1: None}


def test_an_unsend_before_its_message_clears_the_edits_that_came_before_it(api):
    edit(api, 1, "edited, then unsent, before the message arrived")

    assert api.post("/api/internal/ingest-event", message(is_deleted=True)).status_code == 202

    assert edit_texts(api) == {1: None}


# --- nor in the stored webhook deliveries ----------------------------------------------------

SECRET = "the text taken back"
EDITED_SECRET = "its edit, taken back too"


def deliver(api, *items: dict) -> None:
    """Store a webhook delivery as Meta sends it (its forwarding is done by hand here)."""
    assert api.deliver(delivery(entry(*items))).status_code == 200


def stored_deliveries(api) -> str:
    return json.dumps([row["body"] for row in api.rows("SELECT body FROM webhook_deliveries")])


def test_an_unsend_clears_the_message_and_its_edits_from_the_stored_deliveries(api):
    deliver(
        api,
        message_item("mid-1", text=SECRET, attachments=[attachment("image", url=CDN)]),
        message_item("mid-2", text="another message, kept"),
    )
    deliver(api, item(message_edit={"mid": "mid-1", "text": EDITED_SECRET, "num_edit": 1}))
    assert api.post("/api/internal/ingest-event", message()).status_code == 202
    edit(api, 1, EDITED_SECRET)

    assert api.post("/api/internal/ingest-event", message(is_deleted=True)).status_code == 202

    bodies = stored_deliveries(api)
    assert SECRET not in bodies and EDITED_SECRET not in bodies and CDN not in bodies
    assert "another message, kept" in bodies and '"mid-1"' in bodies


def test_a_message_or_edit_delivered_after_its_unsend_leaves_no_text_in_its_delivery(api):
    assert api.post("/api/internal/ingest-event", message(is_deleted=True)).status_code == 202
    deliver(api, message_item("mid-1", text=SECRET))
    assert api.post("/api/internal/ingest-event", message()).status_code == 202
    deliver(api, item(message_edit={"mid": "mid-1", "text": EDITED_SECRET, "num_edit": 1}))
    edit(api, 1, EDITED_SECRET)

    bodies = stored_deliveries(api)
    assert SECRET not in bodies and EDITED_SECRET not in bodies
