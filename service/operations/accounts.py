"""Linking Instagram accounts to Reeva users (done by Phase 2's verification in production;
`ingest connect` does it by hand for development and support)."""

from __future__ import annotations

import uuid

from service.core.db import make_pool
from service.core.settings import Settings
from service.store import instagram_profiles
from service.store.rows import InstagramProfile


async def connect(settings: Settings, ig_id: str, user_id: uuid.UUID) -> InstagramProfile:
    async with make_pool(settings, min_size=1, max_size=1) as pool:
        async with pool.connection() as conn, conn.transaction():
            return await instagram_profiles.connect(conn, ig_id, user_id)
