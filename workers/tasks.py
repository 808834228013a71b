"""The tasks: each loads by id, calls the service, and returns the fields of its job's
log line; the worker middleware (`workers.middleware`) counts and logs every job."""

from __future__ import annotations

import uuid
from typing import Any

import procrastinate

from service.business_account import access_token, webhook_subscription
from service.core import jobs, metrics
from service.core.runtime import Runtime
from service.dms import batch_sending, sending
from service.messages import batches, deciding
from service.operations import retention
from service.reconcile import run as reconcile_run
from service.reconcile import triggers as reconcile_triggers
from service.sender_profiles import fetching
from service.store.rows import OutboundMessage
from service.webhooks import forward
from workers import taken_jobs
from workers.middleware import Fields
from workers.retry_strategy import IngestRetryStrategy

REMOVE_OLD_JOBS = "remove_old_jobs"
REMOVE_DONE_PHASE3_ROWS = "remove_done_phase3_rows"
REFRESH_ACCESS_TOKEN = "refresh_access_token"
CHECK_WEBHOOK_SUBSCRIPTION = "check_webhook_subscription"
PURGE_IDEMPOTENCY_KEYS = "purge_idempotency_keys"
RECONCILE_DUE = "reconcile_due"
# Hourly, off the hour so it does not meet every other service's cron at :00.
RETENTION_CRON = "17 * * * *"
# Hourly too: a refresh is due for days before the token expires, and Meta disables a
# subscription after about an hour of failed deliveries.
TOKEN_REFRESH_CRON = "23 * * * *"
SUBSCRIPTION_CHECK_CRON = "41 * * * *"
# Each minute, whether an account's run is due (RECONCILE_INTERVAL_SECONDS): any interval
# works, and one set to 0 turns the schedule off without a cron to change.
RECONCILE_DUE_CRON = "* * * * *"


def register(app: procrastinate.App) -> None:
    """Register the tasks, and the periodic retention ones, on this process's app."""
    retry = IngestRetryStrategy()
    app.task(
        name=jobs.DECIDE_MESSAGE,
        aliases=[jobs.DECIDE_MESSAGE_FORMERLY],
        queue=jobs.QUEUE_MESSAGES,
        pass_context=True,
        retry=retry,
    )(decide_message)
    app.task(name=jobs.SEND_OUTBOUND, queue=jobs.QUEUE_OUTBOUND, pass_context=True, retry=retry)(
        send_outbound
    )
    app.task(name=jobs.RECONCILE_ACCOUNT, queue=jobs.QUEUE_MAINTENANCE, pass_context=True)(
        reconcile_account
    )
    app.task(name=jobs.FORWARD_DELIVERY, queue=jobs.QUEUE_WEBHOOKS, pass_context=True, retry=retry)(
        forward_delivery
    )
    # Their waits (a turn under GRAPH_READ_RATE, a held token) are re-schedules, as a send's.
    app.task(
        name=jobs.FETCH_SENDER_PROFILES, queue=jobs.QUEUE_PROFILES, pass_context=True, retry=retry
    )(fetch_sender_profiles)
    app.task(
        name=jobs.FETCH_SENDER_PROFILE, queue=jobs.QUEUE_PROFILES, pass_context=True, retry=retry
    )(fetch_sender_profile)
    # Hourly, so that each run deletes an hour's worth of rows, not a month's.
    for name, queue, task in (
        (jobs.PURGE_WEBHOOK_DELIVERIES, jobs.QUEUE_MAINTENANCE, purge_webhook_deliveries),
        (REMOVE_OLD_JOBS, jobs.QUEUE_MAINTENANCE, remove_old_jobs),
        (REMOVE_DONE_PHASE3_ROWS, jobs.QUEUE_MAINTENANCE, remove_done_phase3_rows),
        (PURGE_IDEMPOTENCY_KEYS, jobs.QUEUE_MAINTENANCE, purge_idempotency_keys),
    ):
        app.periodic(cron=RETENTION_CRON, periodic_id=name)(
            app.task(name=name, queue=queue, pass_context=True)(task)
        )
    for name, cron, task in (
        (REFRESH_ACCESS_TOKEN, TOKEN_REFRESH_CRON, refresh_access_token),
        (CHECK_WEBHOOK_SUBSCRIPTION, SUBSCRIPTION_CHECK_CRON, check_webhook_subscription),
        (RECONCILE_DUE, RECONCILE_DUE_CRON, reconcile_due),
    ):
        app.periodic(cron=cron, periodic_id=name)(
            app.task(name=name, queue=jobs.QUEUE_MAINTENANCE, pass_context=True)(task)
        )


def _runtime(context: procrastinate.JobContext) -> Runtime:
    return context.additional_context["runtime"]


async def decide_message(context: procrastinate.JobContext, mid: str) -> Fields:
    """The message, and those whose jobs wait behind it (`service.messages.batches`)."""
    rt = _runtime(context)
    assert context.job.id is not None
    taken = await taken_jobs.take_waiting(rt, context.job.id, queue=jobs.QUEUE_MESSAGES)
    if taken.job_ids:
        together = batches.decide_together(rt, (mid, *taken.mids))
        decided = (await taken_jobs.settle_taken(rt, taken, together)).of(mid)
        metrics.JOBS_SUCCEEDED.labels(jobs.DECIDE_MESSAGE).inc(len(taken.job_ids))
    else:
        decided = await deciding.decide_message(rt, mid)
    fields: dict[str, Any] = {
        "outcome": str(decided.outcome),
        "dms": [_dm_fields(dm) for dm in decided.dms],
    }
    if taken.job_ids:
        fields["batch"] = 1 + len(taken.job_ids)
    return fields


async def send_outbound(context: procrastinate.JobContext, outbound_id: str) -> Fields:
    """The DM, and those whose jobs are due behind it (`service.dms.batch_sending`)."""
    rt, own = _runtime(context), uuid.UUID(outbound_id)
    assert context.job.id is not None
    taken = await taken_jobs.take_waiting(rt, context.job.id, queue=jobs.QUEUE_OUTBOUND)
    if not taken.job_ids:
        row = await sending.send_outbound(rt, own)
        if row is None:
            return {"status": "missing", "level": "warning"}
        return _dm_fields(row)
    ids = (own, *(uuid.UUID(args["outbound_id"]) for args in taken.args))
    rows = await taken_jobs.settle_taken(rt, taken, batch_sending.send_each(rt, ids))
    metrics.JOBS_SUCCEEDED.labels(jobs.SEND_OUTBOUND).inc(len(taken.job_ids))
    mine = next((row for row in rows if row.id == own), None)
    fields = (
        {"outbound_id": outbound_id, "status": "handed_off"} if mine is None else _dm_fields(mine)
    )
    return fields | {"batch": len(ids)}


def _dm_fields(dm: OutboundMessage) -> dict[str, Any]:
    return {
        "outbound_id": str(dm.id),
        # Their values: a terminal's renderer would print the enums' reprs.
        "status": dm.status.value,
        "kind": dm.kind.value,
        "attempts": dm.attempts,
        "error": dm.error,
    }


async def forward_delivery(context: procrastinate.JobContext, delivery_id: int) -> Fields:
    result = await forward.forward_delivery(_runtime(context), delivery_id)
    if result is None:
        return {"status": "missing", "level": "warning"}
    delivery = result.delivery
    if delivery.status == "forwarded":
        await reconcile_triggers.after_delivery(_runtime(context), delivery_id)
    return {
        "status": delivery.status,
        "attempts": delivery.attempts,
        "forwarded": delivery.messages_forwarded,
        "held_back": result.held_back,
        "other_events": result.other_events,
        "warnings": list(result.warnings),
        "error": delivery.last_error,
    }


async def fetch_sender_profiles(context: procrastinate.JobContext, account: str) -> Fields:
    outcomes = await fetching.fetch_requested(_runtime(context), account)
    return {"account": account, **outcomes} if outcomes else {"account": account, "level": "debug"}


async def fetch_sender_profile(context: procrastinate.JobContext, ig_id: str) -> Fields:
    """One sender's fetch, as jobs queued before the account's list (migration 0039) ask."""
    fetched = await fetching.fetch_sender_profile(_runtime(context), ig_id)
    fields: dict[str, Any] = {"ig_id": ig_id, "outcome": str(fetched.outcome)}
    if fetched.error is not None:
        fields["error"] = fetched.error
    return fields


async def purge_webhook_deliveries(context: procrastinate.JobContext, timestamp: int) -> Fields:
    rt = _runtime(context)
    deleted = await retention.purge_forwarded_deliveries(rt)
    return {"deleted": deleted, "retention_days": rt.settings.webhook_retention_days}


async def remove_old_jobs(context: procrastinate.JobContext, timestamp: int) -> Fields:
    await retention.remove_old_jobs(context, _runtime(context))
    return {}


async def remove_done_phase3_rows(context: procrastinate.JobContext, timestamp: int) -> Fields:
    return {"deleted": await retention.remove_done_phase3_rows(_runtime(context))}


async def refresh_access_token(context: procrastinate.JobContext, timestamp: int) -> Fields:
    """Each answered account's token, refreshed when due."""
    rt, accounts, failed = _runtime(context), {}, False
    for account in sorted(await rt.accounts.answered()):
        result = await access_token.refresh_if_due(rt.settings, rt.pool, rt.http, scoped_id=account)
        found: dict[str, Any] = {"outcome": result.outcome, "error": result.error}
        if result.expires_at is not None:
            found["expires_at"] = result.expires_at.isoformat()
        accounts[account] = found
        failed = failed or result.outcome == "failed"
    return {"accounts": accounts, **({"level": "warning"} if failed else {})}


async def check_webhook_subscription(context: procrastinate.JobContext, timestamp: int) -> Fields:
    """Each answered account's webhook subscription, read and recorded; a restored one
    queues a reconciliation."""
    rt = _runtime(context)
    checks = await webhook_subscription.check_all(rt)
    accounts = {
        account: {
            "subscribed": found.subscribed,
            "fields": list(found.fields),
            "error": found.error,
        }
        for account, found in checks.items()
    }
    for account, found in checks.items():
        if await reconcile_triggers.after_subscription_check(rt, account, restored=found.restored):
            accounts[account]["reconcile"] = "queued"
    lost = any(not found.subscribed for found in checks.values())
    return {"accounts": accounts, **({"level": "warning"} if lost else {})}


async def purge_idempotency_keys(context: procrastinate.JobContext, timestamp: int) -> Fields:
    return {"deleted": await retention.purge_idempotency_keys(_runtime(context))}


async def reconcile_account(
    context: procrastinate.JobContext, account_id: str, trigger: str
) -> Fields:
    """A run for the account, at once (a trigger's); after the one in progress, if any."""
    result = await reconcile_run.reconcile(
        _runtime(context), account_id, trigger=trigger, wait=True
    )
    return _run_fields(account_id, result)


async def reconcile_due(context: procrastinate.JobContext, timestamp: int) -> Fields:
    """The scheduled runs that are due; an account whose run is in progress is skipped."""
    rt = _runtime(context)
    runs = []
    for account_id in await reconcile_triggers.accounts(rt):
        if await reconcile_triggers.due(rt, account_id):
            result = await reconcile_run.reconcile(rt, account_id, trigger="schedule")
            runs.append(_run_fields(account_id, result))
    return {"runs": runs} if runs else {"level": "debug"}


def _run_fields(account_id: str, result: reconcile_run.RunResult | None) -> dict[str, Any]:
    if result is None:
        return {"account_id": account_id, "outcome": "in_progress_elsewhere"}
    counts = result.counts
    fields: dict[str, Any] = {
        "account_id": account_id,
        "outcome": "completed",
        "run_id": result.run_id,
        "since": result.since.isoformat(),
        "conversations": counts.conversations,
        "messages_seen": counts.messages_seen,
        "already_stored": counts.already_stored,
        "recovered": counts.recovered,
        "gaps": counts.gaps,
        "calls": counts.calls,
    }
    if counts.gaps:
        fields |= {"level": "warning", "gap_conversations": list(counts.gap_conversations)}
    return fields
