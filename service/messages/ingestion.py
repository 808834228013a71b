"""Accepting an inbound message event: store it and queue its processing, atomically.

Idempotent by Instagram `mid`: a redelivered event inserts nothing and defers nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from service.core import jobs
from service.core.runtime import Runtime
from service.store import messages


@dataclasses.dataclass(frozen=True, kw_only=True)
class InboundEvent:
    mid: str
    sender_ig_id: str
    recipient_ig_id: str
    timestamp: dt.datetime
    message_text: str | None = None
    attachments: Any = None
    reply_to: Any = None
    quick_reply: Any = None
    is_echo: bool = False
    source: str = "messaging"


async def ingest_event(rt: Runtime, event: InboundEvent) -> bool:
    """Store the event and defer `process_message` in one transaction; True when new."""
    async with rt.pool.connection() as conn, conn.transaction():
        # Not dataclasses.asdict: it deep-copies the attachments of every event.
        new = await messages.insert_if_new(conn, **vars(event))
        if new:
            await jobs.defer_process_message(rt.jobs, conn, event.mid)
    return new
