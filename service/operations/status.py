"""The status report: the status queries' rows, and the health checks drawn from them.

`ingest status`, GET /api/internal/status and the gauges of GET /metrics all come from
`collect`, so they agree. The report is plain JSON data (strings, numbers, lists, dicts).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

from service.core.db import Connection
from service.core.settings import Settings
from service.operations.thresholds import Thresholds
from service.store import status_report as status_store
from service.store.rows import DMStatus

# The checks, each healthy while its value is at most its limit.
STALLED_JOBS = "stalled_jobs"
JOB_WAIT = "oldest_job_wait_seconds"
UNHANDLED_MESSAGES = "unhandled_messages"
PHASE3_AGE = "oldest_phase3_seconds"
FAILED_DMS = "failed_dms_in_window"
DELIVERY_WAIT = "oldest_delivery_wait_seconds"
FAILED_DELIVERIES = "failed_deliveries_in_window"
SENDERLESS_EDITS = "senderless_edits_in_window"
JOBLESS_DMS = "pending_dms_without_job"
ACCESS_TOKEN_INVALID = "access_token_invalid"
ACCESS_TOKEN_EXPIRY = "access_token_expiry"
WEBHOOK_SUBSCRIPTION = "webhook_subscription"
WEBHOOK_SILENCE = "webhook_silence_seconds"
RECONCILE_GAPS = "reconcile_gaps_in_window"
UNKNOWN_ACCOUNT_EVENTS = "unknown_account_events_in_window"
ACCOUNT_SILENCE = "account_silence_seconds"
# The access token check fails this close to expiry: a refresh (due 10 days before, by
# default) has not succeeded for days.
TOKEN_EXPIRY_WARNING_DAYS = 7
DEFAULT_WEBHOOK_SILENCE_SECONDS = 21600.0


async def collect(
    conn: Connection,
    thresholds: Thresholds,
    *,
    statement_timeout: float,
    webhook_silence_seconds: float = DEFAULT_WEBHOOK_SILENCE_SECONDS,
    messaging_window: float = Settings.messaging_window_seconds,
) -> dict[str, Any]:
    """The report; each query is cancelled after `statement_timeout` seconds (raising
    `psycopg.errors.QueryCanceled`, an `OperationalError`). `webhook_silence_seconds`
    (WEBHOOK_SILENCE_SECONDS; 0: off) is how long without a signed delivery is unhealthy.
    `messaging_window` is MESSAGING_WINDOW_SECONDS: failed DMs whose recipient's window has
    closed are counted apart, as expected rather than a fault."""
    reports: dict[str, Any] = await status_store.report(
        conn,
        window_seconds=thresholds.window,
        unhandled_after_seconds=thresholds.unhandled_after,
        stalled_after_seconds=thresholds.stalled_after,
        failed_limit=thresholds.failed_limit,
        messaging_window_seconds=messaging_window,
        statement_timeout_seconds=statement_timeout,
        jobless_after_seconds=thresholds.jobless_after,
    )
    [reports["messages_unhandled"]] = reports["messages_unhandled"]
    [reports["outbound_jobless"]] = reports["outbound_jobless"]
    [reports["senderless_edits"]] = reports["senderless_edits"]
    [reports["verification_reads"]] = reports["verification_reads"]
    [reports["webhook_silence"]] = reports["webhook_silence"]
    [reports["unknown_account_events"]] = reports["unknown_account_events"]
    checks = [*_checks(reports, thresholds), *_account_checks(reports, webhook_silence_seconds)]
    return _plain(
        {
            "generated_at": dt.datetime.now(dt.UTC),
            "healthy": all(check["ok"] for check in checks),
            "checks": checks,
            **reports,
            "thresholds": dataclasses.asdict(thresholds),
        }
    )


def _checks(reports: dict[str, Any], t: Thresholds) -> list[dict[str, Any]]:
    job_wait = max((row["oldest_todo_seconds"] or 0 for row in reports["jobs"]), default=0)
    phase3_age = max(
        (
            row["oldest_seconds"]
            for row in reports["phase3"]
            if row["status"] in ("queued", "claimed")
        ),
        default=0,
    )
    failed_rows = [row for row in reports["outbound"] if row["status"] == DMStatus.FAILED]
    window_closed = sum(row["window_closed"] for row in failed_rows)
    failed = sum(row["dms"] for row in failed_rows) - window_closed
    deliveries = {row["status"]: row for row in reports["deliveries"]}
    waiting = deliveries.get("received", {})
    failed_deliveries = deliveries.get("failed", {})
    jobless = reports["outbound_jobless"]
    reconcile = reports["reconcile_runs"]
    return [
        _check(STALLED_JOBS, len(reports["stalled_jobs"]), 0),
        _check(JOB_WAIT, job_wait, t.max_job_wait),
        _check(UNHANDLED_MESSAGES, reports["messages_unhandled"]["messages"], 0),
        _check(PHASE3_AGE, phase3_age, t.max_phase3_age),
        _check(
            FAILED_DMS,
            failed,
            t.max_failed_dms,
            f"{window_closed} more whose messaging window has closed" if window_closed else None,
        ),
        # The latest error names the cause: an outage, or the worker's own configuration
        # (`service.webhooks.forward`).
        _check(
            DELIVERY_WAIT,
            waiting.get("oldest_seconds", 0),
            t.max_delivery_wait,
            waiting.get("latest_error"),
        ),
        _check(
            FAILED_DELIVERIES,
            failed_deliveries.get("in_window", 0),
            t.max_failed_deliveries,
            failed_deliveries.get("latest_error"),
        ),
        # Meta is reported to send DMs to an app that is not Live as edits without a sender
        # (`service.messages.edits`): messages are arriving that cannot be stored.
        _check(
            SENDERLESS_EDITS,
            reports["senderless_edits"]["edits"],
            t.max_senderless_edits,
            _senderless_detail(reports["senderless_edits"]),
        ),
        # The rescue queues such a DM again or fails it: one that stays has nothing to
        # send it (`service.dms.orphans`).
        _check(JOBLESS_DMS, jobless["dms"], 0, _jobless_detail(jobless)),
        # Messages Meta can no longer give: lost for good, never silently (`service.reconcile`).
        _check(
            RECONCILE_GAPS,
            sum(row["gaps_in_window"] for row in reconcile),
            t.max_reconcile_gaps,
            _gaps_detail(reconcile),
        ),
    ]


def _gaps_detail(rows: list[dict[str, Any]]) -> str | None:
    parts = [
        f"{row['account_id']}: conversations {', '.join(row['gap_conversations'])}"
        for row in rows
        if row["gaps_in_window"] and row["gap_conversations"]
    ]
    return "; ".join(parts) or None


def _jobless_detail(row: dict[str, Any]) -> str | None:
    if not row["dms"]:
        return None
    return (
        f"oldest {row['oldest_id']}, untouched for {row['oldest_seconds']} s, with no job to"
        " send it: is the worker's rescue running?"
    )


def _senderless_detail(row: dict[str, Any]) -> str | None:
    if not row["edits"]:
        return None
    return (
        f"edits without a sender, the latest at {row['latest_at'].isoformat()}: is the app"
        " Live, with Advanced Access to instagram_business_manage_messages?"
    )


def _account_checks(reports: dict[str, Any], silence_limit: float) -> list[dict[str, Any]]:
    """The checks that the service keeps working unattended: the access tokens (refused,
    or near expiry with no refresh), messages to accounts not answered, the webhook
    subscriptions, and webhook silence."""
    tokens = reports["access_tokens"]
    invalid = [row for row in tokens if row["invalid_at"] is not None]
    warning = TOKEN_EXPIRY_WARNING_DAYS * 86400
    expiring = [row for row in tokens if row["expires_in_seconds"] < warning]
    lost = [row for row in reports["webhook_subscriptions"] if not row["subscribed"]]
    silence = reports["webhook_silence"]
    silent = (silence["silent_seconds"] or 0) if silence_limit > 0 else 0
    return [
        _check(
            ACCESS_TOKEN_INVALID,
            len(invalid),
            0,
            "; ".join(f"{row['scoped_id']}: {row['invalid_error']}" for row in invalid) or None,
        ),
        _check(ACCESS_TOKEN_EXPIRY, len(expiring), 0, _expiry_detail(expiring)),
        _check(
            UNKNOWN_ACCOUNT_EVENTS,
            reports["unknown_account_events"]["events"],
            0,
            _unknown_account_detail(reports["unknown_account_events"]),
        ),
        _check(
            WEBHOOK_SUBSCRIPTION,
            len(lost),
            0,
            "; ".join(f"{row['scoped_id']}: {row['error']}" for row in lost) or None,
        ),
        _account_silence(reports["account_silence"], silence_limit),
        _check(
            WEBHOOK_SILENCE,
            silent,
            silence_limit,
            None
            if silence_limit <= 0 or silence["latest_signed_at"] is None
            else f"latest signed delivery at {silence['latest_signed_at'].isoformat()}",
        ),
    ]


def _account_silence(rows: list[dict[str, Any]], limit: float) -> dict[str, Any]:
    """The longest any answered account has gone without a message (0 with the check off);
    the detail names those over WEBHOOK_SILENCE_SECONDS."""
    if limit <= 0:
        return _check(ACCOUNT_SILENCE, 0, limit)
    silent = [row for row in rows if (row["silent_seconds"] or 0) > limit]
    detail = "; ".join(f"{row['ig_id']}: {row['silent_seconds']} s" for row in silent)
    longest = max((row["silent_seconds"] or 0 for row in rows), default=0)
    return _check(ACCOUNT_SILENCE, longest, limit, detail or None)


def _unknown_account_detail(row: dict[str, Any]) -> str | None:
    if not row["events"]:
        return None
    return (
        f"messages to accounts not answered ({', '.join(row['accounts'])}), the latest at "
        f"{row['latest_at'].isoformat()}: is the app subscribed for an account never added "
        "(`ingest account add`)?"
    )


def _expiry_detail(rows: list[dict[str, Any]]) -> str | None:
    """What an operator needs about an expiring token: when, and why no refresh helped."""
    parts = []
    for row in rows:
        last = (
            f"last refresh failed: {row['refresh_error']}"
            if row["refresh_error"]
            else f"last refreshed {row['refreshed_at'].isoformat()}"
            if row["refreshed_at"]
            else "never refreshed"
        )
        parts.append(
            f"{row['scoped_id']}: expires {row['expires_at'].isoformat()} "
            f"(in {row['expires_in_seconds'] / 86400:.1f} days); {last}"
        )
    return "; ".join(parts) or None


def _check(name: str, value: float, limit: float, detail: str | None = None) -> dict[str, Any]:
    """A check; `detail`, when given, says what its value is made of (an error)."""
    return {"name": name, "value": value, "limit": limit, "ok": value <= limit, "detail": detail}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value
