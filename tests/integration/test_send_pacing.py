"""The send bucket's statement (`graph_send_buckets_take`) under concurrent takers, each on
its own real connection, as the worker processes take from it."""

from __future__ import annotations

import time

import anyio
import psycopg
from psycopg.rows import dict_row

from service.business_account import pacing
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.store import outbound_messages, send_buckets
from tests.support import seed

RATE, BURST, TAKERS, TAKES_EACH = 200.0, 10, 12, 60


async def _taker(database_url: str, admitted: list, refused: list) -> None:
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        for _ in range(TAKES_EACH):
            took = await send_buckets.take(conn, "acct", rate=RATE, burst=BURST)
            (admitted if took.admitted else refused).append(took)


async def test_concurrent_takers_never_exceed_burst_plus_rate_times_elapsed(database_url):
    admitted: list[send_buckets.Take] = []
    refused: list[send_buckets.Take] = []
    async with anyio.create_task_group() as tg:
        for _ in range(TAKERS):
            tg.start_soon(_taker, database_url, admitted, refused)
    assert len(admitted) + len(refused) == TAKERS * TAKES_EACH
    times = sorted(t.taken_at for t in admitted)
    assert len(times) >= BURST
    # Every run of consecutive admissions, from the i-th to the j-th, fits in what the
    # bucket held at the i-th (at most BURST) plus its refill until the j-th.
    for i in range(len(times)):
        for j in range(i, len(times)):
            elapsed = (times[j] - times[i]).total_seconds()
            assert j - i + 1 <= BURST + RATE * elapsed + 1e-6, (i, j, elapsed)
    assert refused, "the takers should have emptied the bucket"
    # Each refused taker was given a turn of its own, at least 1 / RATE after the one before
    # (more where the line had gone between them).
    turns = sorted(t.turn_at for t in refused)
    assert all(t.wait_seconds > 0 for t in refused)
    gaps = [(b - a).total_seconds() for a, b in zip(turns, turns[1:], strict=False)]
    assert all(gap >= 1 / RATE - 1e-6 for gap in gaps), gaps


async def test_an_empty_bucket_lines_up_its_waiters_one_turn_apart(database_url):
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        for _ in range(BURST):
            assert (await send_buckets.take(conn, "acct", rate=1.0, burst=BURST)).admitted
        waits = [
            (await send_buckets.take(conn, "acct", rate=1.0, burst=BURST, queue=True))
            for _ in range(3)
        ]
    assert [w.admitted for w in waits] == [False] * 3
    assert [round(w.wait_seconds) for w in waits] == [1, 2, 3]


async def test_a_reserve_keeps_sends_for_verification_when_acknowledgements_wait(database_url):
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        for _ in range(BURST - 3):
            assert (await send_buckets.take(conn, "acct", rate=0.001, burst=BURST)).admitted
        # Three left: an acknowledgement that must leave five is refused...
        ack = await send_buckets.take(conn, "acct", rate=0.001, burst=BURST, need=6, queue=True)
        assert not ack.admitted
        # ...while a verification DM still goes.
        verification = await send_buckets.take(conn, "acct", rate=0.001, burst=BURST)
        assert verification.admitted


async def test_a_dm_given_a_turn_goes_at_it_and_newcomers_join_the_line_behind(database_url, db):
    first, second = seed.a_pending_dm(db, "user-1"), seed.a_pending_dm(db, "user-2")
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        ack = {"rate": 0.001, "burst": BURST, "need": 3, "queue": True, "late_seconds": 60}
        for _ in range(BURST):
            assert (await send_buckets.take(conn, "acct", rate=0.001, burst=BURST)).admitted
        given = await send_buckets.take(conn, "acct", dm_id=first, **ack)
        assert not given.admitted and given.turn_at is not None
        # The bucket refilled to what a newcomer needs, but a line waits: the newcomer joins
        # it, behind the DM given its turn.
        db.execute("UPDATE graph_send_buckets SET tokens = 3")
        newcomer = await send_buckets.take(conn, "acct", dm_id=second, **ack)
        assert not newcomer.admitted and newcomer.turn_at > given.turn_at
        # Before its turn the DM waits for it again; at its turn it goes, taking nothing more.
        early = await send_buckets.take(conn, "acct", dm_id=first, **ack)
        assert not early.admitted and early.turn_at == given.turn_at
        db.execute("UPDATE outbound_messages SET paced_at = now() WHERE id = %s", (first,))
        assert (await send_buckets.take(conn, "acct", dm_id=first, **ack)).admitted
    assert db.execute("SELECT tokens FROM graph_send_buckets").fetchone()["tokens"] == 3
    paced = {
        r["id"]: r["paced_at"] for r in db.execute("SELECT id, paced_at FROM outbound_messages")
    }
    assert paced[first] is None and paced[second] == newcomer.turn_at


async def test_a_backlog_of_sends_each_waits_for_its_turn_once(env, db):
    """Each waiting send is given its own turn when it takes from the bucket, so it comes
    back once, at its turn, and goes: N waiting sends cost N wake-ups, not a herd of
    re-takes every time the bucket holds one more send."""
    rate, burst, count = 20.0, 10, 30
    settings = Settings.from_mapping(env, graph_send_rate=rate, graph_send_burst=burst)
    dms = [
        seed.a_pending_dm(db, f"user-{n}", kind="verification" if n % 2 else "acknowledgement")
        for n in range(count)
    ]
    wakes: dict[object, int] = {}
    admitted_at: list[float] = []

    async def send(rt, dm_id) -> None:
        dm = await _row(rt, dm_id)
        wakes[dm_id] = 0
        while True:
            try:
                await pacing.take_turn(rt, dm)
            except pacing.Paced as waiting:
                wakes[dm_id] += 1
                await anyio.sleep(waiting.delay_seconds)
                continue
            admitted_at.append(time.monotonic())
            return

    async with open_runtime(settings) as rt:
        async with anyio.create_task_group() as tg:
            for dm_id in dms:
                tg.start_soon(send, rt, dm_id)
    print(f"\n[backlog] {count} sends, {sum(wakes.values())} wake-ups, most {max(wakes.values())}")
    assert len(admitted_at) == count
    assert max(wakes.values()) <= 2
    assert sum(wakes.values()) <= count - burst + 3
    # And still at the pace: no more than the burst plus the refill since the first.
    admitted_at.sort()
    for i, t in enumerate(admitted_at):
        assert i + 1 <= burst + rate * (t - admitted_at[0]) + 2


async def _row(rt, dm_id):
    async with rt.pool.connection() as conn:
        return await outbound_messages.get(conn, dm_id)
