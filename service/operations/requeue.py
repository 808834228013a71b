"""Running things again by hand: failed DMs (`ingest retry-failed`) and a message's
processing (`ingest replay`).

Both change rows and defer the jobs in one transaction, so a job never runs ahead of the
change it needs, and a crash in between leaves nothing half done.
"""

from __future__ import annotations

import psycopg

from service.core import jobs
from service.core.errors import NotFound
from service.core.runtime import Runtime
from service.store import messages, outbound_messages
from service.store.rows import OutboundMessage


async def retry_failed(
    rt: Runtime,
    *,
    kind: str | None = None,
    recipient: str | None = None,
    since_seconds: float | None = None,
    dry_run: bool = False,
) -> list[OutboundMessage]:
    """Re-queue the matching failed DMs as new attempts; returns them. A dry run makes
    the same selection in a transaction that it rolls back, so it lists exactly the DMs
    that a real run would re-queue at that moment."""
    async with rt.pool.connection() as conn:
        async with conn.transaction():
            dms = await outbound_messages.requeue_failed(
                conn, kind=kind, recipient=recipient, since_seconds=since_seconds
            )
            if dry_run:
                raise psycopg.Rollback()
            for dm in dms:
                await jobs.defer_send_outbound(rt.jobs, conn, dm.id)
    return dms


async def replay(rt: Runtime, mid: str) -> int:
    """Run a message's processing again; returns the job's id. Idempotent: the second run
    adds no DM of a kind the message already has (whatever that DM's status) and no
    second Phase 3 row; it does what the first run did not, e.g. after a failed job or
    once the sender has connected their account."""
    async with rt.pool.connection() as conn, conn.transaction():
        if not await messages.reopen(conn, mid):
            raise NotFound(f"no message with mid {mid!r}")
        return await jobs.defer_process_message(rt.jobs, conn, mid)
