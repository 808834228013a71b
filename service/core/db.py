"""Connections: one async psycopg pool per process, shared with procrastinate."""

from __future__ import annotations

import asyncio
import re
import select
import time
from collections.abc import Awaitable, Callable
from typing import TypeAlias, TypeVar

import psycopg
from procrastinate.exceptions import ConnectorException
from psycopg import AsyncConnection, pq
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from service.core.settings import Settings, SettingsError

# The pool's connections return rows as dicts (`dict_row`); these types say so to mypy.
Connection: TypeAlias = AsyncConnection[DictRow]
Pool: TypeAlias = AsyncConnectionPool[Connection]

T = TypeVar("T")

# How long `through_outage` waits out a lost connection or a short restart, and how often it
# tries again meanwhile.
OUTAGE_SECONDS = 10
OUTAGE_PAUSE_SECONDS = 0.5


async def through_outage(pool: Pool, work: Callable[[Connection], Awaitable[T]]) -> T:
    """`work` on a connection of `pool`, tried again while the database is unreachable, for
    up to OUTAGE_SECONDS: for writes whose loss costs more than the wait (an outcome lost
    costs a resend; a job left `doing` by a live worker waits for its restart)."""
    give_up = time.monotonic() + OUTAGE_SECONDS
    while True:
        try:
            async with pool.connection() as conn:
                return await work(conn)
        except psycopg.OperationalError:
            if time.monotonic() > give_up:
                raise
            await asyncio.sleep(OUTAGE_PAUSE_SECONDS)


def make_pool(
    settings: Settings, *, min_size: int | None = None, max_size: int | None = None
) -> Pool:
    """A closed pool; open it with `await pool.open(wait=True)` to fail fast at start."""
    return AsyncConnectionPool(
        settings.database_url,
        connection_class=AsyncConnection[DictRow],
        min_size=min_size or settings.db_pool_min_size,
        max_size=max_size or settings.db_pool_max_size,
        kwargs={"row_factory": dict_row},
        configure=_autocommit,
        # A connection broken by a Postgres restart is found and replaced on checkout.
        check=check_connection,
        # While the database is down, callers fail after this wait (web answers 503)
        # instead of queueing for the pool's default 30 s.
        timeout=settings.db_pool_timeout_seconds,
        open=False,
        name="ingest",
    )


async def check_connection(conn: Connection) -> None:
    """Raise for a connection that the server closed while it sat in the pool.

    An idle connection has nothing to read unless the server wrote to it: a restart or a
    terminated backend leaves its error and the end of the stream on the socket. Only such
    a connection pays the round trip of psycopg_pool's own check; the others are handed
    out at once (the check cost a tenth of an ingest request).
    """
    if conn.closed or _readable(conn.pgconn.socket):
        await AsyncConnectionPool.check_connection(conn)


def _readable(fd: int) -> bool:
    ready, _, _ = select.select([fd], [], [], 0)
    return bool(ready)


async def _autocommit(conn: Connection) -> None:
    # A lone statement commits by itself, without a BEGIN and a COMMIT round trip of its
    # own (procrastinate's fetch and finish of every job are lone statements); work of
    # several statements says so with `conn.transaction()`. Not a connect argument:
    # procrastinate adds its own `autocommit` to those for its listener.
    await conn.set_autocommit(True)


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` means the database cannot be reached (down, restarting, connection
    killed, pool exhausted), as opposed to a query the database refused.

    procrastinate raises its own `ConnectorException` with the psycopg error as cause;
    psycopg_pool's errors are `OperationalError`s.
    """
    if isinstance(exc, ConnectorException):
        exc = exc.__cause__ or exc
    return isinstance(exc, psycopg.OperationalError)


# libpq's connection keywords: the only quoted words of its parse errors kept as they are.
_KEYWORDS = frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())
_QUOTED = re.compile(r'"([^"]*)"')


def check_database_url(url: str) -> None:
    """Raise `SettingsError`, one line without the password, when libpq cannot read `url`.

    Checked at start, since libpq's own errors quote the part it could not read, which can
    be the password or the whole URL: those quotes are masked here, keywords aside.
    """
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        reason = _QUOTED.sub(_mask, " ".join(str(exc).split()))
        raise SettingsError(f"setting DATABASE_URL is malformed: {reason}") from None
    ports = str(params.get("port") or "")
    if not all(port.isdigit() for port in ports.split(",") if port):
        raise SettingsError("setting DATABASE_URL is malformed: its port is not a number")


def check_reachable(url: str, *, timeout: int = 10) -> None:
    """Raise `psycopg.OperationalError` when the database cannot be reached: checked before
    a server starts, whose own start-up failure would be a traceback."""
    with psycopg.connect(url, connect_timeout=timeout):
        pass


def _mask(quoted: re.Match[str]) -> str:
    word = quoted[1]
    return quoted[0] if word in _KEYWORDS or len(word) <= 1 else '"…"'


def describe_unreachable(exc: Exception, url: str) -> str:
    """One line for a database that cannot be reached, without `url`'s password."""
    text = " ".join(str(exc).split())
    password = conninfo_to_dict(url).get("password")
    return text.replace(str(password), "[redacted]") if password else text
