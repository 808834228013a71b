"""Linking Instagram accounts to Reeva users by hand (`ingest connect`), for development and
support; it connects as a verification link does (`service.linking.verification`)."""

from __future__ import annotations

import uuid

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.linking import verification


async def connect(settings: Settings, ig_id: str, user_id: uuid.UUID) -> verification.Connected:
    async with open_runtime(settings, pool_max_size=2) as rt:
        return await verification.connect(rt, ig_id=ig_id, user_id=user_id)
