"""The recovery point of a send: what a rescued job does with an interrupted attempt."""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import sending
from service.messages import processing
from tests.support import seed
from tests.support.sends import row, send_until_settled


def interrupt(db, dm_id, *, attempts: int, age: str = "1 hour") -> None:
    """Leave the row as a worker killed mid-call leaves it."""
    db.execute(
        "UPDATE outbound_messages SET attempts = %s, sending_attempt_id = gen_random_uuid(),"
        " sending_started_at = now() - %s::interval WHERE id = %s",
        (attempts, age, dm_id),
    )


async def test_an_interrupted_attempt_counts_and_the_dm_is_sent_once_more(env, sandbox, db):
    dm_id = seed.a_pending_dm(db)
    interrupt(db, dm_id, attempts=1)
    await send_until_settled(Settings.from_mapping(env), dm_id)
    assert row(db, dm_id) == {
        "status": "sent",
        "attempts": 2,
        "error": None,
        "sending_attempt_id": None,
    }
    assert len(sandbox.messages()) == 1


async def test_an_interrupted_last_attempt_fails_without_another_call(env, sandbox, db):
    dm_id = seed.a_pending_dm(db)
    interrupt(db, dm_id, attempts=4)
    await send_until_settled(Settings.from_mapping(env), dm_id)
    assert row(db, dm_id) == {
        "status": "failed",
        "attempts": 4,
        "error": sending.INTERRUPTED,
        "sending_attempt_id": None,
    }
    assert sandbox.attempts == 0


async def test_an_attempt_that_may_still_be_in_flight_is_not_doubled(env, sandbox, db):
    dm_id = seed.a_pending_dm(db)
    interrupt(db, dm_id, attempts=1, age="0 seconds")
    settings = Settings.from_mapping(env)

    async with open_runtime(settings) as rt:
        with pytest.raises(sending.RetryLater) as waiting:
            await sending.send_outbound(rt, dm_id)
    assert waiting.value.delay_seconds == sending.attempt_lease_seconds(settings)
    assert sandbox.attempts == 0 and row(db, dm_id)["attempts"] == 1


async def test_a_rescued_message_job_finishes_the_dm_it_was_sending(env, sandbox, db):
    # The worker committed the decision and the recovery point, then died mid-call.
    seed.message(db, "m-cut")
    dm_id = seed.outbound(
        db, status="pending", attempts=0, recipient="user-cut", message_id="m-cut"
    )
    interrupt(db, dm_id, attempts=1)

    async with open_runtime(Settings.from_mapping(env)) as rt:
        processed = await processing.process_message(rt, "m-cut")
    assert processed.outcome is processing.Outcome.ALREADY_HANDLED
    assert [dm.id for dm in processed.dms] == [dm_id]
    assert row(db, dm_id) == {
        "status": "sent",
        "attempts": 2,
        "error": None,
        "sending_attempt_id": None,
    }
    assert [m.recipient_id for m in sandbox.messages()] == ["user-cut"]


async def test_a_dm_that_nothing_will_finish_is_failed(env, db):
    seed.message(db, "m-queued")
    orphan, queued, by_message = (
        db.execute(
            "INSERT INTO outbound_messages (recipient_ig_id, kind, payload, message_id, updated_at)"
            " VALUES (%s, 'verification', '{}', %s, now() - interval '1 hour') RETURNING id",
            (ig_id, mid),
        ).fetchone()["id"]
        for ig_id, mid in (("user-1", None), ("user-2", None), ("user-3", "m-queued"))
    )
    db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)"
        " VALUES ('outbound', 'send_outbound', %s, 'todo'),"
        " ('messages', 'process_message', %s, 'todo')",
        (Jsonb({"outbound_id": str(queued)}), Jsonb({"mid": "m-queued"})),
    )

    async with open_runtime(Settings.from_mapping(env)) as rt:
        assert await sending.fail_orphaned(rt) == [orphan]
    assert row(db, orphan)["status"] == "failed" and row(db, orphan)["error"] == sending.ORPHANED
    # Each still has a job that will send it: its own, or its message's.
    assert row(db, queued)["status"] == row(db, by_message)["status"] == "pending"
