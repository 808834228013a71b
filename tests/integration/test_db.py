"""The pool's checkout check: a connection the server closed is replaced, a live one is not
checked with a round trip."""

from __future__ import annotations

import asyncio

import psycopg

from service.core.db import make_pool
from service.core.settings import Settings


async def _backend_pids(database_url: str, *, rounds: int, terminate: bool) -> list[int]:
    """Check a connection out `rounds` times (one at a time), terminating its backend
    from outside after the first checkout when asked; the backend pid of each checkout."""
    pool = make_pool(Settings(database_url=database_url), min_size=1, max_size=1)
    await pool.open(wait=True)
    pids = []
    try:
        for _ in range(rounds):
            async with pool.connection() as conn:
                pids.append(conn.info.backend_pid)
            if terminate and len(pids) == 1:
                # `conn` is back in the pool, idle: its backend ends under it.
                with psycopg.connect(database_url, autocommit=True) as other:
                    other.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
                await _wait_readable(conn)
    finally:
        await pool.close()
    return pids


async def _wait_readable(conn: psycopg.AsyncConnection) -> None:
    """Until the terminated backend's goodbye has reached the pooled connection's socket."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(conn.pgconn.socket, lambda: readable.done() or readable.set_result(None))
    try:
        await asyncio.wait_for(readable, timeout=10)
    finally:
        loop.remove_reader(conn.pgconn.socket)


async def test_a_connection_whose_backend_was_terminated_is_replaced_on_checkout(
    database_url: str,
) -> None:
    first, second = await _backend_pids(database_url, rounds=2, terminate=True)
    assert second != first  # a new backend, and the checkout raised nothing


async def test_a_live_connection_is_handed_out_again(database_url: str) -> None:
    pids = await _backend_pids(database_url, rounds=3, terminate=False)
    assert len(set(pids)) == 1
