"""The reconciliation's pure parts: `--since` durations, the walk over the paged
conversations, what counts as missing or lost, and a Graph message made an inbound event."""

from __future__ import annotations

import datetime as dt

import pytest

from service.instagram.conversations_api import Conversation, ConversationsPage, MessageRef
from service.operations.thresholds import parse_duration
from service.reconcile import walk
from service.reconcile.recovered import inbound_event

NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


def ago(minutes: float) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("text", "seconds"), [("36h", 129600), ("3d", 259200), ("90m", 5400), ("45s", 45), ("10", 10)]
)
def test_a_since_duration_is_read_in_its_unit(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "3 days", "h", "-1h", "1w", "36h3", "400d"])
def test_a_malformed_since_is_refused_with_a_reason(text):
    with pytest.raises(ValueError, match="duration|longer than"):
        parse_duration(text)


class Pages:
    """Conversations served a page of `size` at a time, newest first; records each cursor."""

    def __init__(self, updated_minutes_ago: list[float], size: int) -> None:
        conversations = [Conversation(f"c{i}", ago(m)) for i, m in enumerate(updated_minutes_ago)]
        self.pages = [conversations[i : i + size] for i in range(0, len(conversations), size)]
        self.asked: list[str | None] = []

    async def __call__(self, after: str | None) -> ConversationsPage:
        self.asked.append(after)
        index = 0 if after is None else int(after)
        more = index + 1 < len(self.pages)
        return ConversationsPage(tuple(self.pages[index]), str(index + 1) if more else None)


async def collect(pages: Pages, since: dt.datetime) -> list[str]:
    return [c.id async for c in walk.changed_conversations(pages, since)]


@pytest.mark.anyio
async def test_the_walk_follows_every_page_while_conversations_changed_since():
    pages = Pages([1, 2, 3, 4, 5, 6, 7], size=3)
    assert await collect(pages, ago(60)) == [f"c{i}" for i in range(7)]
    assert pages.asked == [None, "1", "2"]


@pytest.mark.anyio
async def test_the_walk_stops_at_the_first_conversation_not_changed_since():
    pages = Pages([1, 2, 3, 4, 50, 60, 70], size=3)
    assert await collect(pages, ago(10)) == ["c0", "c1", "c2", "c3"]
    assert pages.asked == [None, "1"]  # the third page is never asked for


@pytest.mark.anyio
async def test_the_walk_of_an_account_without_conversations_asks_once():
    pages = Pages([], size=3)
    pages.pages = [[]]
    assert await collect(pages, ago(10)) == []
    assert pages.asked == [None]


def refs(n: int, *, newest_minutes_ago: float = 1) -> list[MessageRef]:
    return [MessageRef(f"m{i}", ago(newest_minutes_ago + i)) for i in range(n)]


def test_the_missing_messages_are_recovered_oldest_first():
    listed = refs(5)
    assert [m.id for m in walk.missing(listed, {"m1", "m3"})] == ["m4", "m2", "m0"]


def test_a_full_page_of_unknown_messages_newer_than_since_is_a_gap():
    assert walk.lost_beyond_cap(refs(20), set(), since=ago(60))


def test_no_gap_when_the_oldest_listed_is_known_or_older_than_since_or_the_list_not_full():
    assert not walk.lost_beyond_cap(refs(20), {"m19"}, since=ago(60))
    assert not walk.lost_beyond_cap(refs(20), set(), since=ago(10))
    assert not walk.lost_beyond_cap(refs(19), set(), since=ago(60))


ACCOUNT = "17841400000000001"


def graph_message(sender: str, recipient: str, **fields) -> dict:
    return {
        "id": "mid-1",
        "created_time": "2026-12-07T09:03:53+0000",
        "from": {"id": sender, "username": "someone"},
        "to": {"data": [{"id": recipient, "username": "other"}]},
        "message": "hello",
        **fields,
    }


def test_a_recovered_message_keeps_its_created_time_and_is_marked_reconciled():
    event = inbound_event(graph_message("user-1", ACCOUNT), ACCOUNT)
    assert event.mid == "mid-1" and event.sender_ig_id == "user-1"
    assert event.recipient_ig_id == ACCOUNT and event.message_text == "hello"
    assert event.timestamp == dt.datetime(2026, 12, 7, 9, 3, 53, tzinfo=dt.UTC)
    assert event.source == "reconciled" and not event.is_echo


def test_a_message_from_the_account_itself_is_an_echo():
    event = inbound_event(graph_message(ACCOUNT, "user-1"), ACCOUNT)
    assert event.is_echo and event.recipient_ig_id == "user-1"


def test_attachments_take_the_webhooks_shape():
    attachments = {"data": [{"id": "a1", "image_data": {"url": "https://cdn/x.jpg"}}]}
    event = inbound_event(graph_message("user-1", ACCOUNT, attachments=attachments), ACCOUNT)
    assert event.attachments == [{"type": "image", "payload": {"url": "https://cdn/x.jpg"}}]


def test_a_message_without_a_sender_is_refused():
    document = graph_message("user-1", ACCOUNT)
    del document["from"]
    with pytest.raises(ValueError, match="no id or no sender"):
        inbound_event(document, ACCOUNT)
