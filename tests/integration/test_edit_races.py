"""An edit whose transaction commits while its message, or the message's unsend, is being
stored: neither side may miss the other, whichever commits first."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable

import pytest

from service.business_account.runtime import open_runtime
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.messages import edits, ingestion
from service.messages.inbound import InboundEvent

AT = dt.datetime(2024, 12, 13, 20, 57, 36, tzinfo=dt.UTC)
EDIT = edits.IngestEditRequest(mid="m-1", timestamp="1734123457", num_edit=1, text="edited")


def event(mid: str = "m-1", **fields) -> InboundEvent:
    return InboundEvent(
        mid=mid,
        sender_ig_id="user-1",
        recipient_ig_id="page-1",
        timestamp=AT,
        message_text="the original",
        **fields,
    )


async def settled_or_waiting(db, task: asyncio.Task) -> None:
    """Until the task is done, or its statement waits on a lock the open edit holds."""
    deadline = time.monotonic() + 10
    query = (
        "SELECT 1 FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while not task.done() and not db.execute(query).fetchall():
        assert time.monotonic() < deadline, "the store neither finished nor waited"
        await asyncio.sleep(0.01)  # a poll interval: the condition above is what is waited on


async def while_an_edit_is_open(env, db, store: Callable[[Runtime], Awaitable[object]]) -> None:
    """Record the edit in a transaction held open while `store` runs, then commit it."""
    async with open_runtime(Settings.from_mapping(env)) as rt:
        async with rt.pool.connection() as conn:
            async with conn.transaction():
                outcome, _ = await edits.record_edit(conn, EDIT, AT)
                assert outcome is edits.EditOutcome.UNKNOWN_MESSAGE
                storing = asyncio.create_task(store(rt))
                await settled_or_waiting(db, storing)
        await storing


@pytest.mark.parametrize("batch", [False, True], ids=["alone", "in-a-batch-with-an-unsend"])
async def test_a_message_stored_while_its_edit_commits_takes_the_edit(env, db, batch):
    others = [event(mid="m-0"), event(mid="m-0", is_deleted=True)] if batch else []

    await while_an_edit_is_open(env, db, lambda rt: ingestion.ingest_events(rt, [*others, event()]))

    [row] = db.execute("SELECT message_text, edit_count FROM messages WHERE id = 'm-1'")
    assert (row["message_text"], row["edit_count"]) == ("edited", 1)


async def test_an_unsend_stored_while_an_edit_commits_leaves_the_edit_no_text(env, db):
    await while_an_edit_is_open(
        env, db, lambda rt: ingestion.ingest_event(rt, event(is_deleted=True))
    )

    [row] = db.execute("SELECT message_text FROM message_edits WHERE message_id = 'm-1'")
    assert row["message_text"] is None
