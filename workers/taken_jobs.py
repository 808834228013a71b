"""Jobs a running job takes from the line behind it, to do their work with its own.

A `decide_message` or `send_outbound` job that finds more of its task due on its queue takes
them through procrastinate's own fetch, in its order (priority, then age), marked `doing`
by its worker (`store.procrastinate_jobs.fetch_more`), up to `DECIDE_BATCH_SIZE` jobs in all,
and does their work together (`service.messages.batches`, `service.dms.batch_sending`).
They stay the guarantee of their work while it runs: it finishes them once it is done, and
gives them back, due at once, if it fails; a worker that dies with them leaves them to the
rescue of stalled jobs (`workers.rescue`), as any job it ran. A job that finds none waiting
does its own work alone, at once: nothing waits for a batch to fill.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from service.core.db import Connection, through_outage
from service.core.runtime import Runtime
from service.store import procrastinate_jobs

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Taken:
    """Jobs taken from the line by a running job: their ids and their arguments."""

    job_ids: tuple[int, ...]
    args: tuple[dict[str, Any], ...]

    @property
    def mids(self) -> tuple[str, ...]:
        return tuple(args["mid"] for args in self.args)


async def take_waiting(rt: Runtime, job_id: int, *, queue: str) -> Taken:
    """The jobs due on `queue` behind running job `job_id` (one task's queue), up to
    `DECIDE_BATCH_SIZE` - 1, taken for its worker."""
    more = rt.settings.decide_batch_size - 1
    if more < 1:
        return Taken((), ())
    async with rt.pool.connection() as conn:
        found = await procrastinate_jobs.fetch_more(conn, job_id=job_id, queue=queue, count=more)
    return Taken(tuple(job for job, _ in found), tuple(args for _, args in found))


async def settle_taken(rt: Runtime, taken: Taken, work: Awaitable[T]) -> T:
    """Run `work` for the taken jobs; then finish them, or give them back if it fails."""
    try:
        result = await work
    except BaseException:
        await _settle(rt, procrastinate_jobs.give_back, taken.job_ids)
        raise
    await _settle(rt, procrastinate_jobs.finish_taken, taken.job_ids)
    return result


async def _settle(
    rt: Runtime,
    settle: Callable[[Connection, Sequence[int]], Awaitable[None]],
    job_ids: Sequence[int],
) -> None:
    """Finish or give back the taken jobs, waiting out a short database outage: jobs left
    `doing` by a live worker would wait for its restart."""
    await through_outage(rt.pool, lambda conn: settle(conn, job_ids))
