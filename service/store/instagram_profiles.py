"""The `instagram_profiles` table (and `profiles`, the Reeva users it links to)."""

from __future__ import annotations

import uuid

from service.core.db import Connection
from service.store.queries import fetch_row, query
from service.store.rows import InstagramProfile, from_row

_UPSERT = query("instagram_profiles_upsert")
_CONNECT = query("instagram_profiles_connect")


async def upsert(conn: Connection, ig_id: str) -> InstagramProfile:
    """Find or create the profile, holding its row lock until the transaction ends."""
    row = await fetch_row(conn, _UPSERT, {"ig_id": ig_id})
    return from_row(InstagramProfile, row)


async def connect(conn: Connection, ig_id: str, user_id: uuid.UUID) -> InstagramProfile:
    row = await fetch_row(conn, _CONNECT, {"ig_id": ig_id, "user_id": user_id})
    return from_row(InstagramProfile, row)
