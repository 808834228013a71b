"""The recovery point of a send: what a rescued job does with an interrupted attempt."""

from __future__ import annotations

import pytest
from psycopg.types.json import Jsonb

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import orphans, sending
from service.messages import deciding
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
        processed = await deciding.decide_message(rt, "m-cut")
    assert processed.outcome is deciding.Outcome.ALREADY_DECIDED
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
    seed.message(db, "m-queued-before")
    # The first was cut off mid-call (an attempt marked in flight): whether Meta
    # delivered it is unknown.
    orphan, queued, by_message, by_former_name = (
        db.execute(
            "INSERT INTO outbound_messages (recipient_ig_id, kind, payload, message_id,"
            " sending_attempt_id, updated_at) VALUES (%s, 'verification', '{}', %s,"
            " CASE WHEN %s THEN gen_random_uuid() END, now() - interval '1 hour') RETURNING id",
            (ig_id, mid, in_flight),
        ).fetchone()["id"]
        for ig_id, mid, in_flight in (
            ("user-1", None, True),
            ("user-2", None, False),
            ("user-3", "m-queued", False),
            ("user-4", "m-queued-before", False),
        )
    )
    db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status)"
        " VALUES ('outbound', 'send_outbound', %s, 'todo'),"
        " ('messages', 'decide_message', %s, 'todo'),"
        " ('messages', 'process_message', %s, 'todo')",
        (
            Jsonb({"outbound_id": str(queued)}),
            Jsonb({"mid": "m-queued"}),
            Jsonb({"mid": "m-queued-before"}),
        ),
    )

    async with open_runtime(Settings.from_mapping(env)) as rt:
        assert await orphans.fail_orphaned(rt) == [orphan]
    assert row(db, orphan)["status"] == "failed" and row(db, orphan)["error"] == sending.ORPHANED
    # Each still has a job that will send it: its own, or its message's, under the decision's
    # name or the one it had before migration 0024.
    assert (
        row(db, queued)["status"]
        == row(db, by_message)["status"]
        == row(db, by_former_name)["status"]
        == "pending"
    )


async def test_a_dm_whose_job_stopped_before_its_send_began_is_queued_again(env, db):
    """Whatever stopped its job (errors past its budget, an abort), a DM not yet begun
    gets a job again, and its error says why; one cut off mid-call, or one whose link's
    token only a request knew, does not."""
    seed.message(db, "m-gave-up")
    gave_up = seed.outbound(db, status="pending", message_id="m-gave-up", recipient="user-a")
    db.execute(
        "UPDATE outbound_messages SET error = 'TransientGraphError http=500: boom' WHERE id = %s",
        (gave_up,),
    )
    db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts)"
        " VALUES ('messages', 'decide_message', %s, 'failed', 10)",
        (Jsonb({"mid": "m-gave-up"}),),
    )
    custom = seed.outbound(db, kind="custom", status="pending", recipient="user-c")
    cut_off = seed.outbound(db, status="pending", recipient="user-cut")
    interrupt(db, cut_off, attempts=1, age="1 second")
    in_line = seed.outbound(db, kind="verification", status="pending", recipient="user-v")

    async with open_runtime(Settings.from_mapping(env)) as rt:
        requeued = await orphans.requeue_jobless(rt)
    assert sorted(requeued) == sorted([gave_up, custom])
    jobs = db.execute(
        "SELECT args ->> 'outbound_id' AS id FROM procrastinate_jobs"
        " WHERE task_name = 'send_outbound' AND status = 'todo'"
    ).fetchall()
    assert sorted(job["id"] for job in jobs) == sorted([str(gave_up), str(custom)])
    assert row(db, gave_up)["status"] == "pending"
    assert row(db, gave_up)["error"] == (
        f"{orphans.REQUEUED}; before: TransientGraphError http=500: boom"
    )
    assert row(db, custom)["error"] == orphans.REQUEUED
    assert row(db, cut_off)["error"] is None and row(db, in_line)["error"] is None


async def test_a_dm_a_request_left_before_any_call_is_failed_as_not_sent(env, db):
    never_called = db.execute(
        "INSERT INTO outbound_messages (recipient_ig_id, kind, payload, updated_at)"
        " VALUES ('user-1', 'verification', '{}', now() - interval '1 hour') RETURNING id"
    ).fetchone()["id"]
    async with open_runtime(Settings.from_mapping(env)) as rt:
        assert await orphans.fail_orphaned(rt) == [never_called]
    assert row(db, never_called)["status"] == "failed"
    assert row(db, never_called)["error"] == orphans.ABANDONED_UNSENT


async def test_a_dm_waiting_in_place_for_its_turn_is_left_to_its_waiter(env, db):
    """A worker waits for a near turn in place, without a job (`batch_sending`): the rescue
    leaves such a DM alone until its turn has passed by TURN_GRACE_SECONDS, and then,
    its waiter gone, queues it again."""
    waiting = seed.outbound(db, status="pending", recipient="user-w")
    lost = seed.outbound(db, status="pending", recipient="user-l")
    db.execute(
        "UPDATE outbound_messages SET paced_at = now() + interval '1 second' WHERE id = %s",
        (waiting,),
    )
    db.execute(
        "UPDATE outbound_messages SET paced_at = now() - make_interval(secs => %s) WHERE id = %s",
        (orphans.TURN_GRACE_SECONDS + 1, lost),
    )
    async with open_runtime(Settings.from_mapping(env)) as rt:
        assert await orphans.requeue_jobless(rt) == [lost]
    assert row(db, waiting)["error"] is None
