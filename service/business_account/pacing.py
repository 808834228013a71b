"""A send's turn under the account's pace (`GRAPH_SEND_RATE`, `GRAPH_SEND_BURST`).

Before its call, each send takes one from the account's token bucket in Postgres
(`service.store.send_buckets`), which every worker shares. A send that finds it empty is
given its own turn in the account's line, without calling and without spending an attempt.
A turn within `WAIT_IN_PLACE_SECONDS` is waited for where the send is, holding its job's
slot; a later one re-schedules the job for then (`Paced`), which comes back once, at its
turn, and goes. So a backlog of N sends costs N wake-ups, and waiting is routine: logged
at debug.
Verification DMs go first: an acknowledgement leaves `verification_reserve` sends in the
bucket for them, which they take before the line, and a waiting verification DM runs at a
higher job priority among the jobs due.

Reads that no DM waits for (a sender's profile, fresh media URLs) take from a bucket of the
account's own for them (`take_read_turn`, `GRAPH_READ_RATE`), so they never take a send's turn.
"""

from __future__ import annotations

import asyncio

from service.business_account.accounts import account_of
from service.core import metrics
from service.core.jobs import RetryLater
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.store import send_buckets
from service.store.rows import DMKind, OutboundMessage

# The job priority of a verification DM's send waiting its turn: among the jobs due at
# once, procrastinate runs it before the acknowledgements (priority 0).
VERIFICATION_PRIORITY = 10

# A send whose turn comes within this many seconds waits for it in place: cheaper than a
# job re-scheduled (its update, its fetch and, for a hand-off, its insert's NOTIFY, which
# every committing insert of a job waits its turn for), and its turn kept to the
# millisecond. A job holds its slot while it waits, and the worker's graceful stop
# (WORKER_SHUTDOWN_SECONDS) outlasts it.
WAIT_IN_PLACE_SECONDS = 1.0


class Paced(RetryLater):
    """The account's send bucket is empty: the send waits for its turn."""

    routine = True


def verification_reserve(settings: Settings) -> int:
    """Sends an acknowledgement leaves in the bucket, for the verification DMs."""
    return min(settings.graph_send_burst - 1, max(1, settings.graph_send_burst // 4))


def late_seconds(settings: Settings) -> float:
    """How late a send may come for its turn and keep it: the time the bucket takes to
    refill a burst, so that late sends bunched with punctual ones stay within the bucket's
    own bound of `burst` + `rate` x elapsed."""
    return max(1, settings.graph_send_burst) / settings.graph_send_rate


async def take_turn(rt: Runtime, dm: OutboundMessage) -> None:
    """Take the DM's send from the account's bucket, waiting here for a turn that comes
    within `WAIT_IN_PLACE_SECONDS`; `Paced` when its turn is later."""
    s = rt.settings
    if s.graph_send_rate <= 0:
        return
    verification, account = dm.kind is DMKind.VERIFICATION, account_of(s, dm.account_ig_id)
    took = await _take(rt, account, dm)
    if took.admitted:
        return
    metrics.DMS_PACED.labels(dm.kind, account).inc()
    # Twice at most: a send that came late for the turn it waited for (a stalled process)
    # is given a new one, and re-scheduled rather than kept here.
    for _ in range(2):
        if took.wait_seconds > WAIT_IN_PLACE_SECONDS:
            break
        # Its turn is held (`paced_at`): taken again then, it goes without taking afresh.
        await asyncio.sleep(took.wait_seconds)
        took = await _take(rt, account, dm)
        if took.admitted:
            return
    raise Paced(
        took.wait_seconds,
        "waiting for its turn under GRAPH_SEND_RATE",
        priority=VERIFICATION_PRIORITY if verification else None,
    )


async def _take(rt: Runtime, account: str, dm: OutboundMessage) -> send_buckets.Take:
    s, verification = rt.settings, dm.kind is DMKind.VERIFICATION
    async with rt.pool.connection() as conn:
        return await send_buckets.take(
            conn,
            account,
            rate=s.graph_send_rate,
            burst=max(1, s.graph_send_burst),
            need=1 if verification else 1 + verification_reserve(s),
            queue=not verification,
            dm_id=dm.id,
            late_seconds=late_seconds(s),
        )


class ReadPaced(Paced):
    """The account's read bucket is empty: the read waits for its turn."""


def read_bucket(scoped_id: str) -> str:
    """The key of the account's bucket of reads: its own, so reads never take send turns."""
    return f"{scoped_id}:reads"


async def take_read_turn(rt: Runtime, account: str) -> None:
    """Take one read (`GRAPH_READ_RATE`) from `account`'s read bucket; `ReadPaced` when it
    must wait."""
    s = rt.settings
    if s.graph_read_rate <= 0:
        return
    async with rt.pool.connection() as conn:
        took = await send_buckets.take_plain(
            conn,
            read_bucket(account),
            rate=s.graph_read_rate,
            burst=max(1, int(s.graph_read_rate)),
        )
    if not took.admitted:
        raise ReadPaced(took.wait_seconds, "waiting for its turn under GRAPH_READ_RATE")
