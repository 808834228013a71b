"""Pending DMs that no job will finish, and what the rescue (`workers.rescue`) does with
them, so that no DM sits `pending` for ever.

A DM whose send has not begun (no attempt marked in flight) is queued again at once (or,
given a turn to wait for in place, once the turn has passed by `TURN_GRACE_SECONDS`),
whatever stopped its job: errors past the job's budget, an abort, a lost row. Its error
says so, after the error it had. It is safe: nothing has been sent, and the statement that
begins the attempt checks every condition again.

The rest are failed once untouched for `ORPHANED_AFTER_SECONDS`: a verification DM whose
request died (its link's token existed only in that request, so no job can send it), and a
DM cut off mid-call whose job then stopped, whose delivery is unknown (`sending.ORPHANED`).
"""

from __future__ import annotations

import uuid

from service.core import jobs
from service.core.runtime import Runtime
from service.dms.sending import ORPHANED
from service.store import outbound_messages

REQUEUED = "re-queued: its job had stopped before its send began"
ABANDONED_UNSENT = (
    "the request sending it stopped with no call in flight: not sent (its link's token "
    "existed only in that request)"
)
# Longer than any live sender leaves a pending row untouched: a request that sends
# in-line (send-verification-dm) waits at most its retries' backoff between calls.
ORPHANED_AFTER_SECONDS = 600
# DMs queued again per run of the rescue: one transaction holds their rows.
REQUEUE_BATCH_SIZE = 500
# A DM given a turn is waited for in place by a worker (`batch_sending`), without a job,
# for at most `pacing.WAIT_IN_PLACE_SECONDS`: one whose turn passed this long ago has lost
# its waiter (a worker that died).
TURN_GRACE_SECONDS = 10.0


async def requeue_jobless(rt: Runtime) -> list[uuid.UUID]:
    """Give a job again to the pending DMs not begun that no job will send; their ids."""
    async with rt.pool.connection() as conn, conn.transaction():
        requeued = await outbound_messages.requeue_jobless(
            conn,
            reason=REQUEUED,
            batch_size=REQUEUE_BATCH_SIZE,
            turn_grace_seconds=TURN_GRACE_SECONDS,
        )
        for dm_id in requeued:
            await jobs.defer_send_outbound(rt.jobs, conn, dm_id)
    return requeued


async def fail_orphaned(rt: Runtime) -> list[uuid.UUID]:
    """Fail the pending DMs that nothing will finish; returns their ids."""
    async with rt.pool.connection() as conn:
        return await outbound_messages.fail_orphaned(
            conn,
            idle_seconds=ORPHANED_AFTER_SECONDS,
            in_flight_error=ORPHANED,
            unsent_error=ABANDONED_UNSENT,
        )
