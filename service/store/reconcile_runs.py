"""The `reconcile_runs` table: each reconciliation run, where it started from and what it
found; the account's reconciliation lock; and which of a conversation's messages the
service already has."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from service.core.db import Connection
from service.store.queries import fetch_row, query

_LOCK = query("reconcile_runs_lock")
_TRY_LOCK = query("reconcile_runs_try_lock")
_UNLOCK = query("reconcile_runs_unlock")
_LAST_COMPLETED = query("reconcile_runs_last_completed")
_START = query("reconcile_runs_start")
_FINISH = query("reconcile_runs_finish")
_KNOWN_MIDS = query("reconcile_runs_known_mids")


@dataclasses.dataclass(frozen=True)
class LastCompleted:
    """The account's last completed run: when it started, and how long ago (None: never)."""

    started_at: dt.datetime | None
    seconds_ago: float | None


@dataclasses.dataclass(frozen=True)
class Counts:
    """What a run found."""

    conversations: int = 0
    messages_seen: int = 0
    already_stored: int = 0
    recovered: int = 0
    gaps: int = 0
    calls: int = 0
    gap_conversations: tuple[str, ...] = ()


async def lock(conn: Connection, account_id: str, *, wait: bool) -> bool:
    """Take the account's reconciliation lock on this connection (session-level: the caller
    unlocks, or closes the connection); without `wait`, False when a run holds it."""
    if wait:
        await conn.execute(_LOCK, {"account_id": account_id})
        return True
    row = await fetch_row(conn, _TRY_LOCK, {"account_id": account_id})
    return bool(row["locked"])


async def unlock(conn: Connection, account_id: str) -> None:
    await conn.execute(_UNLOCK, {"account_id": account_id})


async def last_completed(conn: Connection, account_id: str) -> LastCompleted:
    row = await fetch_row(conn, _LAST_COMPLETED, {"account_id": account_id})
    return LastCompleted(row["started_at"], row["seconds_ago"])


async def start(
    conn: Connection, account_id: str, *, trigger: str, since_seconds: float
) -> tuple[int, dt.datetime]:
    """Record a run's start; its id, and `since` by the database's clock."""
    row = await fetch_row(
        conn,
        _START,
        {"account_id": account_id, "trigger": trigger, "since_seconds": since_seconds},
    )
    return int(row["id"]), row["since"]


async def finish(conn: Connection, run_id: int, counts: Counts) -> None:
    fields = dataclasses.asdict(counts)
    fields["gap_conversations"] = list(counts.gap_conversations)
    await conn.execute(_FINISH, {"id": run_id, **fields})


async def known_mids(conn: Connection, mids: Sequence[str]) -> set[str]:
    """Those of `mids` that the service stored, or sent as its own DMs."""
    cur = await conn.execute(_KNOWN_MIDS, {"mids": list(mids)})
    return {row["mid"] for row in await cur.fetchall()}
