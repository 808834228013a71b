"""The recovery point of a send: what a rescued job does with an interrupted attempt."""

from __future__ import annotations

import asyncio

import pytest
from psycopg.types.json import Jsonb

from service import sending
from service.runtime import open_runtime
from service.settings import Settings
from tests.sends import insert_dm, row, send_until_settled


def interrupt(db, dm_id, *, attempts: int, age: str = "1 hour") -> None:
    """Leave the row as a worker killed mid-call leaves it."""
    db.execute("UPDATE outbound_messages SET attempts = %s, sending_attempt_id = gen_random_uuid(),"
               " sending_started_at = now() - %s::interval WHERE id = %s", (attempts, age, dm_id))


def test_an_interrupted_attempt_counts_and_the_dm_is_sent_once_more(env, sandbox, db):
    dm_id = insert_dm(db)
    interrupt(db, dm_id, attempts=1)
    send_until_settled(Settings.from_mapping(env), dm_id)
    assert row(db, dm_id) == {"status": "sent", "attempts": 2, "error": None,
                              "sending_attempt_id": None}
    assert len(sandbox.messages()) == 1


def test_an_interrupted_last_attempt_fails_without_another_call(env, sandbox, db):
    dm_id = insert_dm(db)
    interrupt(db, dm_id, attempts=4)
    send_until_settled(Settings.from_mapping(env), dm_id)
    assert row(db, dm_id) == {"status": "failed", "attempts": 4, "error": sending.INTERRUPTED,
                              "sending_attempt_id": None}
    assert sandbox.attempts == 0


def test_an_attempt_that_may_still_be_in_flight_is_not_doubled(env, sandbox, db):
    dm_id = insert_dm(db)
    interrupt(db, dm_id, attempts=1, age="0 seconds")
    settings = Settings.from_mapping(env)

    async def run() -> None:
        async with open_runtime(settings) as rt:
            await sending.send_outbound(rt, dm_id)

    with pytest.raises(sending.RetryLater) as waiting:
        asyncio.run(run())
    assert waiting.value.delay_seconds == sending.attempt_lease_seconds(settings)
    assert sandbox.attempts == 0 and row(db, dm_id)["attempts"] == 1


def test_a_dm_that_nothing_will_finish_is_failed(env, db):
    orphan, queued = (db.execute(
        "INSERT INTO outbound_messages (recipient_ig_id, kind, payload, updated_at)"
        " VALUES (%s, 'verification', '{}', now() - interval '1 hour') RETURNING id",
        (ig_id,)).fetchone()["id"] for ig_id in ("user-1", "user-2"))
    db.execute("INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)"
               " VALUES ('outbound', 'send_outbound', %s, 'todo')",
               (Jsonb({"outbound_id": str(queued)}),))

    async def run():
        async with open_runtime(Settings.from_mapping(env)) as rt:
            return await sending.fail_orphaned(rt)

    assert asyncio.run(run()) == [orphan]
    assert row(db, orphan)["status"] == "failed" and row(db, orphan)["error"] == sending.ORPHANED
    assert row(db, queued)["status"] == "pending"
