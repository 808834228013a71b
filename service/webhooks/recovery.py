"""Finding deliveries that nothing would forward: the sweep of those whose job failed for
good, run by the workers' rescue (`workers.rescue`).

A delivery is stored with its `forward_delivery` job in one transaction, and the job keeps
it moving (retrying while the endpoint is away) until it is `forwarded` or `failed`. Only a
job that ends otherwise leaves it `received` for ever: one that failed for good on an error
it retried until its budget ran out (a database outage longer than the retries, a bug), or
one cancelled or deleted by hand. The sweep defers a new job for each such delivery; the
forwarding is safe to repeat (idempotent by mid).
"""

from __future__ import annotations

from service.core import jobs
from service.core.runtime import Runtime
from service.store import webhook_deliveries

# Deliveries per sweep: a long outage's worth is taken over several runs.
SWEEP_LIMIT = 500


async def forward_orphaned(rt: Runtime) -> list[int]:
    """Defer `forward_delivery` again for each delivery that no job will forward; their ids."""
    async with rt.pool.connection() as conn, conn.transaction():
        orphaned = await webhook_deliveries.lock_orphaned(
            conn, task_name=jobs.FORWARD_DELIVERY, limit=SWEEP_LIMIT
        )
        for delivery_id in orphaned:
            await jobs.defer_forward_delivery(rt.jobs, conn, delivery_id)
    return orphaned
