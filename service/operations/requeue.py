"""Running things again by hand: failed DMs (`ingest retry-failed`) and a message's
decision (`ingest replay`).

Both change rows and defer the jobs in one transaction (retry-failed: one per batch), so a
job never runs ahead of the change it needs, and a crash in between leaves nothing half
done.
"""

from __future__ import annotations

import dataclasses
import uuid

from service.business_account.accounts import environment_account
from service.core import jobs
from service.core.errors import NotFound
from service.core.runtime import Runtime
from service.dms import sending
from service.store import messages, outbound_messages
from service.store.rows import OutboundMessage

# DMs re-queued per transaction: each batch's rows stay locked only until it commits.
REQUEUE_BATCH_SIZE = 500


@dataclasses.dataclass(frozen=True)
class Requeued:
    dms: list[OutboundMessage]
    unknown_left_out: int  # matching DMs whose delivery is unknown, not re-queued
    # Matching DMs left out because their recipient's messaging window has closed: they
    # would fail again at once.
    window_closed: int = 0


async def retry_failed(
    rt: Runtime,
    *,
    kind: str | None = None,
    recipient: str | None = None,
    since_seconds: float | None = None,
    include_unknown: bool = False,
    error: str | None = None,
    outbound_id: uuid.UUID | None = None,
    account: str | None = None,
    dry_run: bool = False,
    batch_size: int = REQUEUE_BATCH_SIZE,
) -> Requeued:
    """Re-queue the matching failed DMs as new attempts, `batch_size` per transaction,
    oldest first. A DM cut off mid-send, whose delivery is unknown (`sending.INTERRUPTED`,
    `sending.ORPHANED`), may have reached the user: it is left out unless
    `include_unknown`. So is a DM whose recipient's messaging window has closed. A dry run
    makes the same selection in transactions that it rolls back, so it lists exactly the
    DMs that a real run would re-queue at that moment. `error` matches a part of the error;
    `outbound_id` picks one DM (the console's re-queue of one)."""
    which = outbound_messages.FailedFilter(
        unknown_prefix=sending.UNKNOWN_DELIVERY,
        kind=kind,
        recipient=recipient,
        since_seconds=since_seconds,
        include_unknown=include_unknown,
        error=error,
        outbound_id=outbound_id,
        window_seconds=rt.settings.messaging_window_seconds,
        account=account,
        environment=environment_account(rt.settings),
    )
    requeued: list[OutboundMessage] = []
    async with rt.pool.connection() as conn:
        while True:
            async with conn.transaction(force_rollback=dry_run):
                batch = await outbound_messages.requeue_failed(
                    conn, which, batch_size=batch_size, after=requeued[-1] if requeued else None
                )
                if not dry_run:
                    for dm in batch:
                        await jobs.defer_send_outbound(rt.jobs, conn, dm.id)
            requeued.extend(batch)
            if len(batch) < batch_size:
                break
        unknown, window_closed = await outbound_messages.count_failed_left_out(conn, which)
    return Requeued(requeued, unknown, window_closed)


async def replay(rt: Runtime, mid: str) -> int:
    """Run a message's decision again; returns the job's id. Idempotent: the second run
    adds no DM of a kind the message already has (whatever that DM's status) and no
    second Phase 3 row; it does what the first run did not, e.g. after a failed job or
    once the sender has connected their account."""
    async with rt.pool.connection() as conn, conn.transaction():
        if not await messages.reopen(conn, mid):
            raise NotFound(f"no message with mid {mid!r}")
        return await jobs.defer_decide_message(rt.jobs, conn, mid)
