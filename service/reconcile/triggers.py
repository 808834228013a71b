"""When a reconciliation runs beside its schedule: at once after the webhook subscription
is restored, after `ingest subscribe`, and after a webhook silence ends, each a moment
when deliveries may have been lost. Each defers one `reconcile_account` job, at most one
queued per account (procrastinate's queueing lock): a second trigger meanwhile is the same
run's."""

from __future__ import annotations

import procrastinate.exceptions
import structlog

from service.core import jobs
from service.core.runtime import Runtime
from service.store import reconcile_runs, webhook_deliveries

log = structlog.get_logger("reconcile")

SUBSCRIPTION_RESTORED = "subscription_restored"
SUBSCRIBED = "subscribe"
SILENCE_ENDED = "silence_ended"


async def defer_reconcile(rt: Runtime, account_id: str, trigger: str) -> bool:
    """Queue a run for the account; False when one is queued already."""
    deferrer = rt.jobs.configure_task(
        jobs.RECONCILE_ACCOUNT,
        queue=jobs.QUEUE_MAINTENANCE,
        queueing_lock=f"reconcile:{account_id}",
    )
    try:
        await deferrer.defer_async(account_id=account_id, trigger=trigger)
    except procrastinate.exceptions.AlreadyEnqueued:
        return False
    log.info("reconcile queued", account_id=account_id, trigger=trigger)
    return True


async def after_delivery(rt: Runtime, delivery_id: int) -> bool:
    """Queue a run for every account answered when this signed delivery ends a silence of
    every delivery longer than WEBHOOK_SILENCE_SECONDS (0: never); whether it did."""
    limit = rt.settings.webhook_silence_seconds
    if limit <= 0:
        return False
    async with rt.pool.connection() as conn:
        silent = await webhook_deliveries.silence_before(conn, delivery_id)
    if silent is None or silent <= limit:
        return False
    queued = [await defer_reconcile(rt, account, SILENCE_ENDED) for account in await accounts(rt)]
    return any(queued)


async def accounts(rt: Runtime) -> list[str]:
    """The accounts the service reconciles: every account it answers."""
    return sorted(await rt.accounts.answered())


async def due(rt: Runtime, account_id: str) -> bool:
    """Whether the account's scheduled run is due: RECONCILE_INTERVAL_SECONDS (0: never)
    since its last completed run began, or none ever completed."""
    interval = rt.settings.reconcile_interval_seconds
    if interval <= 0:
        return False
    async with rt.pool.connection() as conn:
        last = await reconcile_runs.last_completed(conn, account_id)
    return last.seconds_ago is None or last.seconds_ago >= interval


async def after_subscription_check(rt: Runtime, account_id: str, *, restored: bool) -> bool:
    """Queue a run when the check found the account's subscription restored; whether it did."""
    if not restored:
        return False
    return await defer_reconcile(rt, account_id, SUBSCRIPTION_RESTORED)
