"""Looking up one row for an operator, by id."""

from __future__ import annotations

import uuid

from service.core.errors import NotFound
from service.core.runtime import Runtime
from service.store import outbound_messages
from service.store.rows import OutboundMessage


async def outbound_message(rt: Runtime, dm_id: uuid.UUID) -> OutboundMessage:
    async with rt.pool.connection() as conn:
        dm = await outbound_messages.get(conn, dm_id)
    if dm is None:
        raise NotFound(f"no outbound message {dm_id}")
    return dm
