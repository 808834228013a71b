"""The Phase 3 queue: claim with SKIP LOCKED and a lease, extend, complete, fail with
backoff; claims fenced by their token (docs/phase3.md)."""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import psycopg
from psycopg.rows import dict_row

from service.core.db import make_pool
from service.core.settings import Settings
from service.phase3 import consumer
from service.store import phase3_queue
from tests.support.stack import ROOT

T = TypeVar("T")
# Every container runs its process as PID 1 on a host named alike: two consumers may well
# carry the same name, so nothing may rest on it.
SAME_NAME = "host:1"


def seed(db, *mids: str) -> None:
    user_id = uuid.uuid4()
    db.execute("INSERT INTO profiles (id) VALUES (%s)", (user_id,))
    for mid in mids:
        db.execute(
            "INSERT INTO messages (id, sender_ig_id, recipient_ig_id, timestamp) "
            "VALUES (%s, 'u', 'page', now())",
            (mid,),
        )
        db.execute(
            "INSERT INTO phase3_queue (message_id, ig_id, connected_user_id) VALUES (%s, 'u', %s)",
            (mid, user_id),
        )


async def run(database_url: str, operation):
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        return await operation(conn)


async def eventually(predicate: Callable[[], Awaitable[T]], what: str, timeout: float = 15) -> T:
    """Poll `predicate` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while not (result := await predicate()):
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await anyio.sleep(0.02)
    return result


async def claim(database_url, consumer, limit=10, visibility=60.0, max_attempts=5):
    return await run(
        database_url,
        lambda c: phase3_queue.claim(
            c,
            consumer=consumer,
            limit=limit,
            visibility_seconds=visibility,
            max_attempts=max_attempts,
        ),
    )


async def complete(database_url, item) -> bool:
    return await run(
        database_url,
        lambda c: phase3_queue.complete(c, item_id=item.id, claim_token=item.claim_token),
    )


async def fail(database_url, item, error="boom", retry_in=60.0, max_attempts=5) -> str | None:
    return await run(
        database_url,
        lambda c: phase3_queue.fail(
            c,
            item_id=item.id,
            claim_token=item.claim_token,
            error=error,
            retry_in_seconds=retry_in,
            max_attempts=max_attempts,
        ),
    )


async def extend(database_url, item, visibility=60.0) -> bool:
    return await run(
        database_url,
        lambda c: phase3_queue.extend(
            c, item_id=item.id, claim_token=item.claim_token, visibility_seconds=visibility
        ),
    )


def the_row(db):
    return db.execute("SELECT * FROM phase3_queue").fetchone()


async def test_two_consumers_never_claim_the_same_row(database_url, db):
    seed(db, "a", "b", "c")
    with psycopg.connect(database_url) as holder:
        # One consumer's claim transaction still open: its rows are locked and skipped.
        holder.execute("SELECT id FROM phase3_queue WHERE message_id = 'a' FOR UPDATE")
        first = await claim(database_url, "one", limit=2)
        assert sorted(i.message_id for i in first) == ["b", "c"]
    second = await claim(database_url, "two")
    assert [i.message_id for i in second] == ["a"]
    assert await claim(database_url, "three") == []


async def claimed_again(database_url, db):
    """One consumer's claim, and the claim of another (of the same name) that took the row
    once the first one's lease ran out."""
    seed(db, "a")
    [stale] = await claim(database_url, SAME_NAME, visibility=0.2)
    [live] = await eventually(
        lambda: claim(database_url, SAME_NAME), "the row claimed again after its lease"
    )
    assert live.id == stale.id and live.attempts == 2 and live.claim_token != stale.claim_token
    return stale, live


async def test_a_stale_complete_reports_false_and_changes_nothing(database_url, db):
    stale, live = await claimed_again(database_url, db)
    before = the_row(db)
    assert await complete(database_url, stale) is False
    assert the_row(db) == before
    assert await complete(database_url, live) is True
    assert the_row(db)["status"] == "done"


async def test_a_stale_fail_changes_nothing(database_url, db):
    stale, live = await claimed_again(database_url, db)
    before = the_row(db)
    assert await fail(database_url, stale, error="stale") is None
    assert the_row(db) == before
    assert await complete(database_url, live) is True


async def test_a_stale_extend_changes_nothing_and_a_live_one_renews_the_lease(database_url, db):
    stale, live = await claimed_again(database_url, db)
    before = the_row(db)
    assert await extend(database_url, stale, visibility=3600) is False
    assert the_row(db) == before
    assert await extend(database_url, live, visibility=3600) is True
    after = the_row(db)
    assert after["available_at"] > before["available_at"]
    assert after["claim_token"] == live.claim_token and after["attempts"] == before["attempts"]
    assert await claim(database_url, "other") == []  # still the live claim's


async def test_two_consumers_handle_each_item_once_though_the_first_outlives_its_lease(
    database_url, db, monkeypatch
):
    """Consumer one is still on its first item when that item's first lease runs out;
    consumer two then drains the queue. Claimed in a batch under one lease, the rest of
    one's batch (and its first item) went to two as well, and both handled them."""
    seed(db, "a", "b", "c")
    monkeypatch.setattr(consumer, "VISIBILITY_SECONDS", 2.0)
    handled: collections.Counter[str] = collections.Counter()
    drained_by_two: list[int] = []

    async with make_pool(Settings(database_url=database_url), min_size=1, max_size=4) as pool:

        async def lease_has_run_out(lease_end) -> bool:
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT now() > %s AS past", (lease_end,))
                return (await cur.fetchone())["past"]

        async def handle(item):
            handled[item.message_id] += 1
            if sum(handled.values()) > 1:
                return
            async with pool.connection() as conn:
                cur = await conn.execute(
                    "SELECT available_at FROM phase3_queue WHERE id = %s", (item.id,)
                )
                lease_end = (await cur.fetchone())["available_at"]
            await eventually(lambda: lease_has_run_out(lease_end), "the first lease's end")
            drained_by_two.append(await consumer.drain(pool, "two"))

        monkeypatch.setattr(consumer, "handle", handle)
        drained_by_one = await consumer.drain(pool, "one")

    assert handled == {"a": 1, "b": 1, "c": 1}
    assert (drained_by_one, drained_by_two) == (1, [2])
    rows = db.execute("SELECT status, attempts FROM phase3_queue").fetchall()
    assert rows == [{"status": "done", "attempts": 1}] * 3


async def test_an_item_at_max_attempts_fails_at_claim_and_is_never_handed_out(database_url, db):
    seed(db, "crashed-after-errors", "crashed-each-time", "fresh")
    # Each claim of these ended with the consumer dead and the lease run out.
    db.execute(
        "UPDATE phase3_queue SET status = 'claimed', attempts = 3, claimed_by = 'gone',"
        " claim_token = gen_random_uuid(), available_at = now() - interval '1 second',"
        " last_error = CASE message_id WHEN 'crashed-after-errors' THEN 'boom' END"
        " WHERE message_id <> 'fresh'"
    )
    claimed = await claim(database_url, "c1", max_attempts=3)
    assert [i.message_id for i in claimed] == ["fresh"]
    rows = {
        r["message_id"]: r
        for r in db.execute(
            "SELECT message_id, status, last_error, claimed_by, claim_token, attempts"
            " FROM phase3_queue"
        ).fetchall()
    }
    for mid in ("crashed-after-errors", "crashed-each-time"):
        assert rows[mid]["status"] == "failed" and rows[mid]["attempts"] == 3
        assert rows[mid]["claimed_by"] is None and rows[mid]["claim_token"] is None
    assert rows["crashed-after-errors"]["last_error"] == "boom"
    assert rows["crashed-each-time"]["last_error"] == "claimed 3 times without being completed"
    db.execute(
        "UPDATE phase3_queue SET available_at = now() - interval '1 hour' WHERE status = 'failed'"
    )
    assert await claim(database_url, "c2", max_attempts=3) == []
    assert await claim(database_url, "c2", max_attempts=100) == []  # failed is for good


async def test_a_failing_item_at_attempt_2000_backs_off_by_the_cap(database_url, db, monkeypatch):
    seed(db, "a")
    db.execute("UPDATE phase3_queue SET attempts = 1999")
    monkeypatch.setattr(consumer, "MAX_ATTEMPTS", 10_000)

    async def handle(item):
        raise RuntimeError(f"attempt {item.attempts}")

    monkeypatch.setattr(consumer, "handle", handle)
    async with make_pool(Settings(database_url=database_url), min_size=1, max_size=2) as pool:
        assert await consumer.drain(pool, "c1") == 0
    row = db.execute(
        "SELECT status, attempts, last_error, extract(epoch FROM available_at - now()) AS wait"
        " FROM phase3_queue"
    ).fetchone()
    assert row["status"] == "queued" and row["attempts"] == 2000
    assert row["last_error"] == "RuntimeError('attempt 2000')"
    assert consumer.BACKOFF_CAP_SECONDS - 10 < row["wait"] <= consumer.BACKOFF_CAP_SECONDS


async def test_a_failed_row_backs_off_then_fails_for_good(database_url, db):
    seed(db, "a")
    [item] = await claim(database_url, "c1")
    assert await fail(database_url, item, max_attempts=2) == "queued"
    row = db.execute(
        "SELECT last_error, claim_token, available_at > now() AS later FROM phase3_queue"
    ).fetchone()
    assert row == {"last_error": "boom", "claim_token": None, "later": True}
    assert await claim(database_url, "c1") == []  # not before its backoff
    db.execute("UPDATE phase3_queue SET available_at = now()")
    [item] = await claim(database_url, "c1")
    assert await fail(database_url, item, error="boom again", max_attempts=2) == "failed"
    assert await fail(database_url, item, max_attempts=2) is None  # that claim is over
    db.execute("UPDATE phase3_queue SET available_at = now()")
    assert await claim(database_url, "c1") == []


async def test_consumer_ids_differ_within_one_host_and_pid(database_url, db):
    """Two runs of the reference consumer in one process (so one host name and one pid)
    claim under names of their own."""
    settings = Settings(database_url=database_url)
    for mid in ("first", "second"):
        seed(db, mid)
        await consumer.run(settings, once=True)
    names = [
        r["claimed_by"]
        for r in db.execute("SELECT claimed_by FROM phase3_queue ORDER BY id").fetchall()
    ]
    assert len(set(names)) == 2
    assert all(n.startswith(f"{socket.gethostname()}:{os.getpid()}:") for n in names)


def test_an_insert_notifies_listeners(database_url, db):
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute("LISTEN phase3_queue")
        seed(db, "a")
        [notice] = list(listener.notifies(timeout=5, stop_after=1))
    [row] = db.execute("SELECT id FROM phase3_queue").fetchall()
    assert notice.channel == "phase3_queue" and notice.payload == str(row["id"])


def test_the_reference_consumer_completes_every_row(env, db):
    seed(db, "a", "b")
    result = subprocess.run(
        [sys.executable, "-m", "ingest.cli", "phase3", "--once"],
        cwd=ROOT,
        env=env | {"PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = db.execute("SELECT status FROM phase3_queue").fetchall()
    assert [r["status"] for r in rows] == ["done", "done"]
    assert "phase3 drained" in result.stderr and '"completed": 2' in result.stderr


async def withdraw(database_url, mid: str) -> tuple[int, int]:
    return await run(database_url, lambda c: phase3_queue.withdraw(c, mid))


def kinds(db, mid: str) -> dict[str, str]:
    rows = db.execute("SELECT kind, status FROM phase3_queue WHERE message_id = %s", (mid,))
    return {row["kind"]: row["status"] for row in rows.fetchall()}


async def test_an_unsent_message_is_withdrawn_or_noticed_by_what_consumers_saw(database_url, db):
    seed(db, "retried", "failed", "held", "done")
    items = {item.message_id: item for item in await claim(database_url, "c")}
    await fail(database_url, items["retried"], retry_in=0)
    await fail(database_url, items["failed"], max_attempts=1)
    assert await complete(database_url, items["done"]) is True
    seed(db, "fresh")  # never claimed
    mids = ["fresh", *items]

    results = {mid: await withdraw(database_url, mid) for mid in mids}

    assert results == {
        "fresh": (1, 0),
        "retried": (1, 1),
        "failed": (1, 1),
        "held": (1, 1),
        "done": (0, 1),
    }
    assert kinds(db, "fresh") == {"message": "withdrawn"}
    for mid in ("retried", "failed", "held"):
        assert kinds(db, mid) == {"message": "withdrawn", "deletion": "queued"}, mid
    assert kinds(db, "done") == {"message": "done", "deletion": "queued"}
    # The holder's claim is gone; the notices, but for the held one's, are claimable now.
    assert await extend(database_url, items["held"]) is False
    notices = await claim(database_url, "c")
    assert sorted((i.kind, i.message_id) for i in notices) == [
        ("deletion", "done"),
        ("deletion", "failed"),
        ("deletion", "retried"),
    ]
    # Again: nothing more changes.
    assert [await withdraw(database_url, mid) for mid in mids] == [(0, 0)] * 5
