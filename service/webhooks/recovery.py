"""Finding deliveries that nothing would forward: the sweep of those whose job failed for
good, run by the workers' rescue (`workers.rescue`), and the bulk replay of the failed ones
(`ingest replay-delivery --status failed`).

A delivery is stored with its `forward_delivery` job in one transaction, and the job keeps
it moving (retrying while the endpoint is away) until it is `forwarded` or `failed`. Only a
job that ends otherwise leaves it `received` for ever: one that failed for good on an error
it retried until its budget ran out (a database outage longer than the retries, a bug), or
one cancelled or deleted by hand. The sweep defers a new job for each such delivery; the
forwarding is safe to repeat (idempotent by mid).
"""

from __future__ import annotations

from service.business_account.runtime import open_runtime
from service.core import jobs
from service.core.runtime import Runtime
from service.core.settings import WORKER_SETTINGS, Settings
from service.store import webhook_deliveries

# Deliveries per sweep: a long outage's worth is taken over several runs.
SWEEP_LIMIT = 500
# Failed deliveries re-queued per transaction.
REQUEUE_BATCH_SIZE = 500


async def forward_orphaned(rt: Runtime) -> list[int]:
    """Defer `forward_delivery` again for each delivery that no job will forward; their ids."""
    async with rt.pool.connection() as conn, conn.transaction():
        orphaned = await webhook_deliveries.lock_orphaned(
            conn, task_name=jobs.FORWARD_DELIVERY, limit=SWEEP_LIMIT
        )
        for delivery_id in orphaned:
            await jobs.defer_forward_delivery(rt.jobs, conn, delivery_id)
    return orphaned


async def requeue_failed(
    rt: Runtime,
    *,
    since_seconds: float | None = None,
    dry_run: bool = False,
    batch_size: int = REQUEUE_BATCH_SIZE,
) -> list[int]:
    """Put failed deliveries (failed within `since_seconds`, if given) back to `received`
    with a fresh retry budget and defer their forwarding, a batch per transaction; their
    ids. A dry run rolls each batch back, so it counts what a real run would take."""
    requeued: list[int] = []
    async with rt.pool.connection() as conn:
        while True:
            async with conn.transaction(force_rollback=dry_run):
                batch = await webhook_deliveries.requeue_failed(
                    conn,
                    since_seconds=since_seconds,
                    batch_size=batch_size,
                    after_id=requeued[-1] if requeued else None,
                )
                if not dry_run:
                    for delivery_id in batch:
                        await jobs.defer_forward_delivery(rt.jobs, conn, delivery_id)
            requeued.extend(batch)
            if len(batch) < batch_size:
                return requeued


async def replay_failed(
    settings: Settings, *, since_seconds: float | None, dry_run: bool
) -> list[int]:
    """`ingest replay-delivery --status failed`: the workers forward what it re-queues."""
    settings.require(*WORKER_SETTINGS)
    async with open_runtime(settings, pool_max_size=2) as rt:
        return await requeue_failed(rt, since_seconds=since_seconds, dry_run=dry_run)
