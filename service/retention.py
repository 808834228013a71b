"""Retention: what the worker's hourly housekeeping deletes, and what it keeps.

Finished jobs (succeeded, failed, cancelled, aborted) and their events go
`job_retention_days` after they finished, through procrastinate's own `remove_old_jobs`;
done Phase 3 rows go `phase3_retention_days` after completion. Messages and outbound
DMs are the audit trail and are kept.
"""

from __future__ import annotations

import procrastinate
from procrastinate import builtin_tasks

from service.runtime import Runtime
from service.store import phase3

DAY_SECONDS = 86_400


async def remove_old_jobs(context: procrastinate.JobContext, rt: Runtime) -> None:
    await builtin_tasks.remove_old_jobs(
        context, max_hours=round(rt.settings.job_retention_days * 24),
        remove_failed=True, remove_cancelled=True, remove_aborted=True)


async def remove_done_phase3_rows(rt: Runtime) -> int:
    async with rt.pool.connection() as conn:
        return await phase3.delete_done_before(
            conn, seconds=rt.settings.phase3_retention_days * DAY_SECONDS)
