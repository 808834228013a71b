"""Retention: what the worker's hourly housekeeping deletes, and what it keeps.

Finished jobs (succeeded, failed, cancelled, aborted) and their events go
`job_retention_days` after they finished, through procrastinate's own `remove_old_jobs`;
done Phase 3 rows go `phase3_retention_days` after completion; forwarded webhook
deliveries go `webhook_retention_days` after they were forwarded; send-dm's idempotency keys
go a day after they were first used (`service.dms.idempotency`). Messages and outbound DMs are
the audit trail and are kept, and so are deliveries never forwarded (still retrying, or
failed): deleting those would lose events before an operator replays them.
"""

from __future__ import annotations

import procrastinate
from procrastinate import builtin_tasks

from service.core.runtime import Runtime
from service.dms import idempotency
from service.store import idempotency_keys, phase3_queue, webhook_deliveries

DAY_SECONDS = 86_400


async def remove_old_jobs(context: procrastinate.JobContext, rt: Runtime) -> None:
    await builtin_tasks.remove_old_jobs(
        context,
        max_hours=round(rt.settings.job_retention_days * 24),
        remove_failed=True,
        remove_cancelled=True,
        remove_aborted=True,
    )


async def remove_done_phase3_rows(rt: Runtime) -> int:
    async with rt.pool.connection() as conn:
        return await phase3_queue.delete_done_before(
            conn, seconds=rt.settings.phase3_retention_days * DAY_SECONDS
        )


async def purge_forwarded_deliveries(rt: Runtime) -> int:
    """Delete forwarded deliveries past the retention; returns how many (0 keeps all)."""
    days = rt.settings.webhook_retention_days
    if days <= 0:
        return 0
    async with rt.pool.connection() as conn:
        return await webhook_deliveries.purge_forwarded(conn, retention_days=days)


async def purge_idempotency_keys(rt: Runtime) -> int:
    """Delete the idempotency keys past their day; returns how many."""
    async with rt.pool.connection() as conn:
        return await idempotency_keys.purge(conn, retention_seconds=idempotency.RETENTION_SECONDS)
