"""What a message's decision costs in round trips to Postgres. Each statement psycopg sends
(a transaction's BEGIN and COMMIT included) is one wait on the connection for its answer, so
counting those waits counts the round trips; the other waits (setting autocommit, the
pool's commit of an idle connection) send nothing. The figures are the ones
docs/reliability.md quotes."""

from __future__ import annotations

import pytest
from psycopg import AsyncConnection

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.messages import deciding
from tests.support import seed
from tests.support.stack import SCOPED_ID

# psycopg's generators that send a statement and read its answer.
_SENDS = {"BaseCursor._execute_gen", "BaseTransaction._enter_gen", "BaseTransaction._exit_gen"}


@pytest.fixture
def round_trips(monkeypatch) -> list[int]:
    counted = [0]
    wait = AsyncConnection.wait

    async def counting_wait(self, gen, *args, **kwargs):
        if gen.__qualname__ in _SENDS:
            counted[0] += 1
        return await wait(self, gen, *args, **kwargs)

    monkeypatch.setattr(AsyncConnection, "wait", counting_wait)
    return counted


async def decide_counting(env, db, mid: str, round_trips: list[int]) -> int:
    db.execute(
        'INSERT INTO messages (id, sender_ig_id, recipient_ig_id, "timestamp")'
        " VALUES (%s, %s, %s, now())",
        (mid, f"sender-{mid}", SCOPED_ID),
    )
    async with open_runtime(Settings.from_mapping(env)) as rt:
        async with rt.pool.connection():
            pass  # the pool's first connection, opened before counting
        round_trips[0] = 0
        await deciding.decide(rt, mid)
        return round_trips[0]


async def test_a_connected_senders_message_is_decided_in_four_round_trips(env, db, round_trips):
    # BEGIN, the claim, the record, COMMIT (no cooldown set: nothing sent lately to read).
    seed.a_connected_sender(db, "sender-m-c")
    assert await decide_counting(env, db, "m-c", round_trips) == 4


async def test_an_unconnected_senders_message_is_decided_in_five_round_trips(env, db, round_trips):
    # BEGIN, the claim, what went to the sender lately, the record, COMMIT.
    assert await decide_counting(env, db, "m-u", round_trips) == 5
