"""The status queries of `service/store/sql/queries/status.sql`, named `status_<report>`.

They are reports: their columns are whatever the SQL selects, so their rows stay dicts
and go to JSON and tables as they are, rather than into row types.
"""

from __future__ import annotations

from psycopg.rows import DictRow

from service.core.db import Connection
from service.store.queries import query

_CONFIGURE = query("status_configure")
REPORTS = {
    "jobs": query("status_jobs"),
    "outbound": query("status_outbound"),
    "outbound_failed": query("status_outbound_failed"),
    "outbound_jobless": query("status_outbound_jobless"),
    "messages_unhandled": query("status_messages_unhandled"),
    "phase3": query("status_phase3"),
    "stalled_jobs": query("status_stalled_jobs"),
    "deliveries": query("status_deliveries"),
    "senderless_edits": query("status_senderless_edits"),
    "verification_reads": query("status_verification_reads"),
    "unknown_account_events": query("status_unknown_account_events"),
    "access_tokens": query("status_access_tokens"),
    "webhook_subscriptions": query("status_webhook_subscriptions"),
    "webhook_silence": query("status_webhook_silence"),
    "reconcile_runs": query("status_reconcile_runs"),
    "rate_limit_holds": query("status_rate_limit_holds"),
    "account_silence": query("status_account_silence"),
}


async def report(
    conn: Connection,
    *,
    window_seconds: float,
    unhandled_after_seconds: float,
    stalled_after_seconds: float,
    failed_limit: int,
    messaging_window_seconds: float,
    statement_timeout_seconds: float,
    jobless_after_seconds: float,
) -> dict[str, list[DictRow]]:
    """Run every status query in one transaction, with these parameters, each cancelled
    after `statement_timeout_seconds` (0: no limit); {name: rows}."""
    async with conn.transaction():
        await conn.execute(
            _CONFIGURE,
            {
                "window": _interval(window_seconds),
                "unhandled_after": _interval(unhandled_after_seconds),
                "stalled_after": _interval(stalled_after_seconds),
                "failed_limit": str(failed_limit),
                "messaging_window": _interval(messaging_window_seconds),
                "jobless_after": _interval(jobless_after_seconds),
                "statement_timeout": f"{round(statement_timeout_seconds * 1000)}ms",
            },
        )
        reports: dict[str, list[DictRow]] = {}
        for name, sql in REPORTS.items():
            cur = await conn.execute(sql)
            reports[name] = await cur.fetchall()
    return reports


def _interval(seconds: float) -> str:
    # Fixed-point: Postgres reads no exponent ("1.2096e+06 seconds" is not an interval).
    return f"{seconds:.6f} seconds"
