"""The `instagram_accounts` table: the Instagram professional accounts the service answers
(the environment's, and those `ingest account add` added)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from service.core.db import Connection
from service.store.queries import fetch_one, query

_SEED_ENVIRONMENT = query("instagram_accounts_seed_environment")
_ADD = query("instagram_accounts_add")
_REMOVE = query("instagram_accounts_remove")
_ACTIVE = query("instagram_accounts_active")
_OVERVIEW = query("instagram_accounts_overview")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AccountOverview:
    """An account as `ingest account list` shows it."""

    ig_id: str
    username: str | None
    source: str
    added_at: dt.datetime
    token_expires_at: dt.datetime | None
    token_invalid_at: dt.datetime | None
    subscribed: bool | None
    subscription_checked_at: dt.datetime | None
    last_delivery_at: dt.datetime | None
    sends_held: int


async def seed_environment(conn: Connection, ig_id: str) -> None:
    await conn.execute(_SEED_ENVIRONMENT, {"ig_id": ig_id})


async def add(conn: Connection, *, ig_id: str, username: str | None) -> None:
    await conn.execute(_ADD, {"ig_id": ig_id, "username": username})


async def remove(conn: Connection, ig_id: str) -> bool:
    """Stop answering the account; False when it was not answered."""
    return await fetch_one(conn, _REMOVE, {"ig_id": ig_id}) is not None


async def active(conn: Connection) -> list[str]:
    cur = await conn.execute(_ACTIVE)
    return [row["ig_id"] for row in await cur.fetchall()]


async def overview(conn: Connection, *, environment: str) -> list[AccountOverview]:
    """Every answered account; `environment`: the account of rows written before accounts."""
    cur = await conn.execute(_OVERVIEW, {"environment": environment})
    return [AccountOverview(**row) for row in await cur.fetchall()]
