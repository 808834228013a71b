"""The send bucket's statement (`graph_send_buckets_take`) under concurrent takers, each on
its own real connection, as the worker processes take from it."""

from __future__ import annotations

import anyio
import psycopg
from psycopg.rows import dict_row

from service.store import send_buckets
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
    assert all(0 < t.wait_seconds <= 1 / RATE + 1e-6 for t in refused)


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


async def test_a_dm_given_a_turn_goes_before_newcomers_which_join_the_line(database_url, db):
    first, second = seed.a_pending_dm(db, "user-1"), seed.a_pending_dm(db, "user-2")
    async with await psycopg.AsyncConnection.connect(
        database_url, autocommit=True, row_factory=dict_row
    ) as conn:
        ack = {"rate": 0.001, "burst": BURST, "need": 3, "queue": True}
        for _ in range(BURST):
            assert (await send_buckets.take(conn, "acct", rate=0.001, burst=BURST)).admitted
        assert not (await send_buckets.take(conn, "acct", dm_id=first, **ack)).admitted
        assert db.execute("SELECT paced_at FROM outbound_messages WHERE id = %s", (first,))
        # The bucket refilled to what a newcomer needs, but a line waits: the newcomer joins
        # it, and the DM with its turn takes the send.
        db.execute("UPDATE graph_send_buckets SET tokens = 3")
        newcomer = await send_buckets.take(conn, "acct", dm_id=second, **ack)
        assert not newcomer.admitted
        assert (await send_buckets.take(conn, "acct", dm_id=first, **ack)).admitted
    paced = {
        r["id"]: r["paced_at"] for r in db.execute("SELECT id, paced_at FROM outbound_messages")
    }
    assert paced[first] is None and paced[second] is not None
