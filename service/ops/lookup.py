"""Looking up one row for an operator, by id."""

from __future__ import annotations

import uuid

from service.errors import NotFound
from service.runtime import Runtime
from service.store import outbound
from service.store.rows import OutboundMessage


async def outbound_message(rt: Runtime, dm_id: uuid.UUID) -> OutboundMessage:
    async with rt.pool.connection() as conn:
        dm = await outbound.get(conn, dm_id)
    if dm is None:
        raise NotFound(f"no outbound message {dm_id}")
    return dm
