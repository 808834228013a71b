"""When a reconciliation is queued beside its schedule: a subscription found again after it
was lost, and a signed delivery that ends a webhook silence; each queues one
`reconcile_account` job per account, however many times it fires."""

from __future__ import annotations

from service.business_account import webhook_subscription
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.reconcile import run, triggers
from tests.support.stack import SCOPED_ID


def queued(db) -> list[dict]:
    return db.execute(
        "SELECT args FROM procrastinate_jobs WHERE task_name = 'reconcile_account'"
    ).fetchall()


async def test_a_subscription_found_again_queues_one_run(env, sandbox, db):
    async with open_runtime(Settings.from_mapping(env)) as rt:
        first = await webhook_subscription.check(rt, SCOPED_ID)  # lost: nothing subscribed
        sandbox.accounts.subscribe(SCOPED_ID, ["messages"])
        found = await webhook_subscription.check(rt, SCOPED_ID)
        again = await webhook_subscription.check(rt, SCOPED_ID)
        assert (first.restored, found.restored, again.restored) == (False, True, False)
        assert await triggers.after_subscription_check(rt, SCOPED_ID, restored=found.restored)
        assert not await triggers.after_subscription_check(
            rt, SCOPED_ID, restored=True
        )  # one queued
    [job] = queued(db)
    assert job["args"] == {"account_id": SCOPED_ID, "trigger": triggers.SUBSCRIPTION_RESTORED}


def signed_delivery(db, *, hours_ago: float, signed: bool = True) -> int:
    return db.execute(
        "INSERT INTO webhook_deliveries (body, signed, received_at, status)"
        " VALUES ('{}', %s, now() - make_interval(secs => %s), 'forwarded') RETURNING id",
        (signed, hours_ago * 3600),
    ).fetchone()["id"]


async def test_a_delivery_after_a_silence_longer_than_the_limit_queues_a_run(env, db):
    settings = Settings.from_mapping({**env, "WEBHOOK_SILENCE_SECONDS": str(6 * 3600)})
    signed_delivery(db, hours_ago=10)
    unsigned = signed_delivery(db, hours_ago=5, signed=False)
    after_silence = signed_delivery(db, hours_ago=1)
    soon_after = signed_delivery(db, hours_ago=0.5)
    async with open_runtime(settings) as rt:
        assert not await triggers.after_delivery(rt, unsigned)
        assert not await triggers.after_delivery(rt, soon_after)
        assert queued(db) == []
        assert await triggers.after_delivery(rt, after_silence)
    [job] = queued(db)
    assert job["args"] == {"account_id": SCOPED_ID, "trigger": triggers.SILENCE_ENDED}


async def test_with_the_silence_check_off_no_delivery_queues_a_run(env, db):
    settings = Settings.from_mapping({**env, "WEBHOOK_SILENCE_SECONDS": "0"})
    signed_delivery(db, hours_ago=100)
    latest = signed_delivery(db, hours_ago=0)
    async with open_runtime(settings) as rt:
        assert not await triggers.after_delivery(rt, latest)
    assert queued(db) == []


async def test_a_scheduled_run_is_due_after_the_interval_and_skips_a_run_in_progress(env, db):
    settings = Settings.from_mapping({**env, "RECONCILE_INTERVAL_SECONDS": "900"})
    async with open_runtime(settings) as rt:
        assert await triggers.due(rt, SCOPED_ID)  # never ran
        db.execute(
            "INSERT INTO reconcile_runs (account_id, trigger, since, started_at, finished_at)"
            " VALUES (%s, 'schedule', now() - interval '2 days', now() - interval '10 minutes',"
            " now())",
            (SCOPED_ID,),
        )
        assert not await triggers.due(rt, SCOPED_ID)
        db.execute("UPDATE reconcile_runs SET started_at = now() - interval '16 minutes'")
        assert await triggers.due(rt, SCOPED_ID)
        db.execute("SELECT pg_advisory_lock(hashtextextended('reconcile:' || %s, 0))", (SCOPED_ID,))
        assert await run.reconcile(rt, SCOPED_ID, trigger="schedule") is None
    off = Settings.from_mapping({**env, "RECONCILE_INTERVAL_SECONDS": "0"})
    async with open_runtime(off) as rt:
        assert not await triggers.due(rt, SCOPED_ID)
