"""Accepting inbound message events: store each, note that its sender opened the messaging
window, and queue its decision, atomically.

Idempotent by Instagram `mid`: a redelivered event inserts nothing and defers nothing. An
unsend (`is_deleted`) goes to `service.messages.unsends` instead, and defers nothing.

Messages are stored in one statement (`service.store.messages.ingest`), one message or a
run of them: a batch costs one round trip, not one per message. A batch keeps its order:
the messages before an unsend are stored before it, those after it after it, so an unsend
that follows its message in a delivery finds it stored. A batch is stored all or none: one
statement is atomic alone, and a batch with unsends, several statements, is one transaction.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from service.core import jobs, metrics
from service.core.db import Connection
from service.core.runtime import Runtime
from service.messages.unsends import UnsendOutcome, unsend
from service.store import messages
from service.store.inbound_event import InboundEvent


async def ingest_event(rt: Runtime, event: InboundEvent) -> bool:
    """Store the event and defer `decide_message`, in one statement; True when new."""
    [new] = await ingest_events(rt, [event])
    return new


async def ingest_events(rt: Runtime, events: Sequence[InboundEvent]) -> list[bool]:
    """`ingest_event` for each event, in order, all or none. For each event, whether it was
    new (for an unsend: whether it changed anything)."""
    async with rt.pool.connection() as conn:
        several_statements = any(event.is_deleted for event in events)
        atomic = conn.transaction() if several_statements else contextlib.nullcontext()
        async with atomic:
            if several_statements:  # one statement locks its own mids
                await _lock_all(conn, events)
            news, unsends = await _store_in_order(conn, events)
    # Counted once committed: a batch refused counts nothing.
    for outcome in unsends:
        metrics.UNSENDS.labels(outcome.value).inc()
    deferred = sum(new for new, event in zip(news, events, strict=True) if not event.is_deleted)
    metrics.JOBS_DEFERRED.labels(jobs.DECIDE_MESSAGE).inc(deferred)
    return news


async def _lock_all(conn: Connection, events: Sequence[InboundEvent]) -> None:
    """Every lock the transaction's statements take, in one go and in lock order, so that
    two such transactions cannot deadlock (migration 0028)."""
    await messages.lock_mids(
        conn,
        shared=[event.mid for event in events if not event.is_deleted],
        exclusive=[event.mid for event in events if event.is_deleted],
    )


async def _store_in_order(
    conn: Connection, events: Sequence[InboundEvent]
) -> tuple[list[bool], list[UnsendOutcome]]:
    """Store the runs of messages between unsends, and each unsend, in the events' order."""
    news: list[bool] = []
    unsends: list[UnsendOutcome] = []
    run: list[InboundEvent] = []
    for event in events:
        if not event.is_deleted:
            run.append(event)
            continue
        news += await _store(conn, run)
        run = []
        unsends.append((await unsend(conn, event)).outcome)
        news.append(unsends[-1] is not UnsendOutcome.REPEATED)
    news += await _store(conn, run)
    return news, unsends


async def _store(conn: Connection, events: list[InboundEvent]) -> list[bool]:
    if not events:
        return []
    new = set(
        await messages.ingest(conn, events, queue=jobs.QUEUE_MESSAGES, task=jobs.DECIDE_MESSAGE)
    )
    news = []
    for event in events:  # a mid repeated in the batch is new at its first place only
        news.append(event.mid in new)
        new.discard(event.mid)
    return news
