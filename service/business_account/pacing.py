"""A send's turn under the account's pace (`GRAPH_SEND_RATE`, `GRAPH_SEND_BURST`).

Before its call, each send takes one from the account's token bucket in Postgres
(`service.store.send_buckets`), which every worker shares. A send that finds it empty is
given its own turn in the account's line, and re-scheduled for then (`Paced`), without
calling and without spending an attempt: it comes back once, at its turn, and goes. So a
backlog of N sends costs N wake-ups, and waiting is routine: logged at debug.
Verification DMs go first: an acknowledgement leaves `verification_reserve` sends in the
bucket for them, which they take before the line, and a waiting verification DM runs at a
higher job priority among the jobs due.
"""

from __future__ import annotations

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
    """Take the DM's send from the account's bucket; `Paced` when it must wait its turn."""
    s = rt.settings
    if s.graph_send_rate <= 0:
        return
    verification, account = dm.kind is DMKind.VERIFICATION, account_of(s, dm.account_ig_id)
    async with rt.pool.connection() as conn:
        took = await send_buckets.take(
            conn,
            account,
            rate=s.graph_send_rate,
            burst=max(1, s.graph_send_burst),
            need=1 if verification else 1 + verification_reserve(s),
            queue=not verification,
            dm_id=dm.id,
            late_seconds=late_seconds(s),
        )
    if not took.admitted:
        metrics.DMS_PACED.labels(dm.kind, account).inc()
        raise Paced(
            took.wait_seconds,
            "waiting for its turn under GRAPH_SEND_RATE",
            priority=VERIFICATION_PRIORITY if verification else None,
        )
