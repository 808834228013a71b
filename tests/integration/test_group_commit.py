"""Group commit: ingest requests that arrive together share one statement, and a group
with a bad event stores the others, each answered as it would have been alone."""

from __future__ import annotations

import asyncio
import datetime as dt

import psycopg
import pytest

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.messages import group_commit, ingestion
from service.store.inbound_event import InboundEvent

AT = dt.datetime(2024, 12, 13, 20, 57, 36, tzinfo=dt.UTC)


def event(mid: str, **fields) -> InboundEvent:
    return InboundEvent(
        mid=mid, sender_ig_id=f"sender-{mid}", recipient_ig_id="page-1", timestamp=AT, **fields
    )


@pytest.fixture
def statements(monkeypatch) -> list[int]:
    """The size of each statement's group, as `ingestion.ingest_events` is called."""
    sizes: list[int] = []
    real = ingestion.ingest_events

    async def counted(rt, events):
        sizes.append(len(events))
        return await real(rt, events)

    monkeypatch.setattr(ingestion, "ingest_events", counted)
    return sizes


async def test_requests_that_arrive_together_share_a_statement(env, db, statements):
    async with open_runtime(Settings.from_mapping(env)) as rt:
        groups = group_commit.IngestGroups(rt)
        news = await asyncio.gather(
            *(groups.ingest(event(f"g-{n}")) for n in range(50)), groups.ingest(event("g-0"))
        )

    assert news == [True] * 50 + [False]  # the repeated mid, in the same group or the next
    assert sum(statements) == 51 and len(statements) <= group_commit.IN_FLIGHT + 1
    assert db.execute("SELECT count(*) AS n FROM procrastinate_jobs").fetchone()["n"] == 50


async def test_one_bad_event_fails_its_own_request_and_no_other(env, db, statements):
    async with open_runtime(Settings.from_mapping(env)) as rt:
        groups = group_commit.IngestGroups(rt)
        # jsonb cannot hold \u0000: this event alone is refused by Postgres.
        bad = event("bad", attachments=[{"type": "file", "payload": {"name": "\u0000"}}])
        outcomes = await asyncio.gather(
            *(groups.ingest(e) for e in [event("ok-1"), bad, event("ok-2"), event("ok-3")]),
            return_exceptions=True,
        )

    assert outcomes[0] is True and outcomes[2] is True and outcomes[3] is True
    assert isinstance(outcomes[1], psycopg.DataError)
    stored = {row["id"] for row in db.execute("SELECT id FROM messages")}
    assert stored == {"ok-1", "ok-2", "ok-3"}
    assert db.execute("SELECT count(*) AS n FROM procrastinate_jobs").fetchone()["n"] == 3
    assert max(statements) > 1  # they were grouped, then stored one by one
