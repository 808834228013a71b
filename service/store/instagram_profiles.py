"""The `instagram_profiles` table (and `profiles`, the Reeva users it links to)."""

from __future__ import annotations

import datetime as dt
import uuid

from service.core.db import Connection
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import InstagramProfile, from_row

_UPSERT = query("instagram_profiles_upsert", returns=InstagramProfile)
_CONNECT = query("instagram_profiles_connect", returns=InstagramProfile)
_RECORD_INBOUND = query("instagram_profiles_record_inbound")
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
