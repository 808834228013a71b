"""The `instagram_profiles` table (and `profiles`, the Reeva users it links to)."""

from __future__ import annotations

import uuid

from psycopg import AsyncConnection

from service.core.db import fetch_one
from service.store.queries import QUERIES
from service.store.rows import InstagramProfile, from_row


async def upsert(conn: AsyncConnection, ig_id: str) -> InstagramProfile:
    """Find or create the profile, holding its row lock until the transaction ends."""
    row = await fetch_one(conn, QUERIES["instagram_profile_upsert"], {"ig_id": ig_id})
    return from_row(InstagramProfile, row)


async def connect(conn: AsyncConnection, ig_id: str, user_id: uuid.UUID) -> InstagramProfile:
    row = await fetch_one(
        conn, QUERIES["instagram_profile_connect"], {"ig_id": ig_id, "user_id": user_id}
    )
    return from_row(InstagramProfile, row)
