"""Accepting inbound message events: store each, note that its sender opened the messaging
window, and queue its decision, atomically.

Idempotent by Instagram `mid`: a redelivered event inserts nothing and defers nothing. An
unsend (`is_deleted`) goes to `service.messages.unsends` instead, and defers nothing.

Messages are stored in one statement (`service.store.messages.ingest`), one message or a
run of them: a batch costs one round trip, not one per message. A batch keeps its order:
the messages before an unsend are stored before it, those after it after it, so an unsend
that follows its message in a delivery finds it stored.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.core import jobs, metrics
from service.core.runtime import Runtime
from service.messages.inbound import InboundEvent
from service.messages.unsends import UnsendOutcome, unsend
from service.store import messages


async def ingest_event(rt: Runtime, event: InboundEvent) -> bool:
    """Store the event and defer `decide_message`, in one statement; True when new."""
    [new] = await ingest_events(rt, [event])
    return new


async def ingest_events(rt: Runtime, events: Sequence[InboundEvent]) -> list[bool]:
    """`ingest_event` for each event, in order; the messages between two unsends are stored
    together, all or none. For each event, whether it was new (for an unsend: whether it
    changed anything)."""
    news: list[bool] = []
    run: list[InboundEvent] = []
    for event in events:
        if not event.is_deleted:
            run.append(event)
            continue
        news += await _store(rt, run)
        run = []
        news.append((await unsend(rt, event)).outcome is not UnsendOutcome.REPEATED)
    news += await _store(rt, run)
    return news


async def _store(rt: Runtime, events: list[InboundEvent]) -> list[bool]:
    if not events:
        return []
    async with rt.pool.connection() as conn:
        new = set(
            await messages.ingest(conn, events, queue=jobs.QUEUE_MESSAGES, task=jobs.DECIDE_MESSAGE)
        )
    metrics.JOBS_DEFERRED.labels(jobs.DECIDE_MESSAGE).inc(len(new))
    news = []
    for event in events:  # a mid repeated in the batch is new at its first place only
        news.append(event.mid in new)
        new.discard(event.mid)
    return news
