"""The `instagram_profiles` table (and `profiles`, the Reeva users it links to)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

from service.core.db import Connection
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import InstagramProfile, SenderProfile, from_row

_UPSERT = query("instagram_profiles_upsert", returns=InstagramProfile)
_CONNECT = query("instagram_profiles_connect", returns=InstagramProfile)
_RECORD_INBOUND = query("instagram_profiles_record_inbound")
_REQUEST_FETCH = query("instagram_profiles_request_fetch")
_NEXT_REQUESTED = query("instagram_profiles_next_requested")
_FORGET_REQUEST = query("instagram_profiles_forget_request")
_FETCH_DUE = query("instagram_profiles_fetch_due")
_RECORD_FETCHED = query("instagram_profiles_record_fetched")
_RECORD_REFUSED = query("instagram_profiles_record_refused")
_GET = query("instagram_profiles_get", returns=InstagramProfile)


async def get(conn: Connection, ig_id: str) -> InstagramProfile | None:
    row = await fetch_one(conn, _GET, {"ig_id": ig_id})
    return None if row is None else from_row(InstagramProfile, row)


async def upsert(conn: Connection, ig_id: str) -> InstagramProfile:
    """Find or create the profile, holding its row lock until the transaction ends."""
    row = await fetch_row(conn, _UPSERT, {"ig_id": ig_id})
    return from_row(InstagramProfile, row)


async def connect(conn: Connection, ig_id: str, user_id: uuid.UUID) -> InstagramProfile:
    row = await fetch_row(conn, _CONNECT, {"ig_id": ig_id, "user_id": user_id})
    return from_row(InstagramProfile, row)


async def record_inbound(conn: Connection, ig_id: str, at: dt.datetime) -> None:
    """The user opened the messaging window at `at` (kept only if later than known)."""
    await conn.execute(_RECORD_INBOUND, {"ig_id": ig_id, "at": at})


@dataclasses.dataclass(frozen=True)
class Requested:
    """A sender whose profile was asked for, its account (None: the environment's), and
    whether that account's fetch job already waits."""

    ig_id: str
    account_ig_id: str | None
    queued: bool


async def request_fetch(
    conn: Connection, mids: Sequence[str], *, refresh_seconds: float, fallback: str
) -> list[Requested]:
    """Mark requested the profiles of the senders of `mids` that are due to be asked of
    Meta and not requested yet, in one statement; those it marked."""
    params = {"mids": list(mids), "refresh_seconds": refresh_seconds, "fallback": fallback}
    cur = await conn.execute(_REQUEST_FETCH, params)
    return [
        Requested(row["ig_id"], row["account_ig_id"], row["queued"]) for row in await cur.fetchall()
    ]


async def next_requested(conn: Connection, account: str, *, fallback: bool) -> str | None:
    """The account's sender asked for longest ago, whose profile is still to be fetched
    (`fallback`: the environment's account, which also has the profiles of none)."""
    row = await fetch_one(conn, _NEXT_REQUESTED, {"account": account, "fallback": fallback})
    return None if row is None else row["ig_id"]


async def forget_request(conn: Connection, ig_id: str) -> None:
    """Profile `ig_id` no longer requested: its fetch ended with nothing to keep."""
    await conn.execute(_FORGET_REQUEST, {"ig_id": ig_id})


@dataclasses.dataclass(frozen=True)
class FetchDue:
    """A profile due to be asked of Meta, and its account (None: the environment's)."""

    account_ig_id: str | None


async def fetch_due(conn: Connection, ig_id: str, *, refresh_seconds: float) -> FetchDue | None:
    """The profile when it is still due to be asked of Meta, else None."""
    row = await fetch_one(conn, _FETCH_DUE, {"ig_id": ig_id, "refresh_seconds": refresh_seconds})
    return None if row is None else FetchDue(row["account_ig_id"])


async def record_fetched(conn: Connection, ig_id: str, fields: SenderProfile) -> None:
    """Store Meta's answer for the profile, as of now."""
    await conn.execute(_RECORD_FETCHED, {"ig_id": ig_id, **dataclasses.asdict(fields)})


async def record_refused(conn: Connection, ig_id: str, error: str) -> None:
    """Meta refused the profile for good (`consent_required`, `unavailable`), as of now."""
    await conn.execute(_RECORD_REFUSED, {"ig_id": ig_id, "error": error})
