"""Accepting an inbound message event: store it, note that its sender opened the
messaging window, and queue its processing, atomically.

Idempotent by Instagram `mid`: a redelivered event inserts nothing and defers nothing. An
unsend (`is_deleted`) goes to `service.messages.unsends` instead, and defers nothing.
"""

from __future__ import annotations

from service.core import jobs
from service.core.runtime import Runtime
from service.messages.inbound import InboundEvent
from service.messages.unsends import UnsendOutcome, unsend
from service.store import instagram_profiles, messages


async def ingest_event(rt: Runtime, event: InboundEvent) -> bool:
    """Store the event and defer `process_message` in one transaction; True when new."""
    if event.is_deleted:
        return (await unsend(rt, event)).outcome is not UnsendOutcome.REPEATED
    async with rt.pool.connection() as conn, conn.transaction():
        new = await messages.insert_if_new(conn, event)
        # Our own DMs, echoed back, open no window; a redelivery changes nothing.
        if not event.is_echo:
            await instagram_profiles.record_inbound(conn, event.sender_ig_id, event.timestamp)
        if new:
            await jobs.defer_process_message(rt.jobs, conn, event.mid)
    return new
