"""The Phase 3 queue: claim with SKIP LOCKED and a lease, complete, fail with backoff."""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
from psycopg.rows import dict_row

from service.store import phase3_queue
from tests.support.stack import ROOT


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


async def claim(database_url, consumer, limit=10, visibility=60.0):
    return await run(
        database_url,
        lambda c: phase3_queue.claim(
            c, consumer=consumer, limit=limit, visibility_seconds=visibility
        ),
    )


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


async def test_an_expired_claim_comes_back_with_another_attempt(database_url, db):
    seed(db, "a")
    [first] = await claim(database_url, "crashed", visibility=0)
    [again] = await claim(database_url, "survivor")
    assert again.id == first.id and again.attempts == 2
    assert (
        await run(
            database_url, lambda c: phase3_queue.complete(c, item_id=first.id, consumer="crashed")
        )
        is False
    )
    assert (
        await run(
            database_url, lambda c: phase3_queue.complete(c, item_id=first.id, consumer="survivor")
        )
        is True
    )
    [row] = db.execute("SELECT status, completed_at FROM phase3_queue").fetchall()
    assert row["status"] == "done" and row["completed_at"] is not None


async def test_a_failed_row_backs_off_then_fails_for_good(database_url, db):
    seed(db, "a")
    [item] = await claim(database_url, "c1")
    status = await run(
        database_url,
        lambda c: phase3_queue.fail(
            c, item_id=item.id, consumer="c1", error="boom", retry_in_seconds=60, max_attempts=2
        ),
    )
    assert status == "queued"
    row = db.execute(
        "SELECT last_error, available_at > now() AS later FROM phase3_queue"
    ).fetchone()
    assert row == {"last_error": "boom", "later": True}
    assert await claim(database_url, "c1") == []  # not before its backoff
    db.execute("UPDATE phase3_queue SET available_at = now()")
    [item] = await claim(database_url, "c1")
    status = await run(
        database_url,
        lambda c: phase3_queue.fail(
            c,
            item_id=item.id,
            consumer="c1",
            error="boom again",
            retry_in_seconds=60,
            max_attempts=2,
        ),
    )
    assert status == "failed"
    db.execute("UPDATE phase3_queue SET available_at = now()")
    assert await claim(database_url, "c1") == []


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
