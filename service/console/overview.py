"""The overview's data: the status report (the same checks as `ingest status`), queue
depths, rate-limit holds, every account answered (its token, subscription, last delivery and
held sends), the environment's stored access token (a token found invalid holds every send),
and the last day's activity per minute."""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.business_account import access_token
from service.business_account.accounts import environment_account
from service.console import chart
from service.core.cached import Cached
from service.core.jobs import QUEUES
from service.core.runtime import Runtime
from service.operations import status
from service.operations.thresholds import Thresholds
from service.store import console as console_store
from service.store import instagram_accounts

# The chart's query reads a day of rows: at most one run per this long, whoever refreshes.
ACTIVITY_CACHE_SECONDS = 30.0


class Overview:
    def __init__(self) -> None:
        self._activity: Cached[dict[str, list[int]]] = Cached(seconds=ACTIVITY_CACHE_SECONDS)

    async def collect(self, rt: Runtime, thresholds: Thresholds) -> dict[str, Any]:
        async with rt.pool.connection() as conn:
            report = await status.collect(
                conn,
                thresholds,
                statement_timeout=rt.settings.status_statement_timeout_seconds,
                messaging_window=rt.settings.messaging_window_seconds,
            )
            holds = await console_store.rate_limits(conn)
            accounts = await instagram_accounts.overview(
                conn, environment=environment_account(rt.settings)
            )

        async def activity() -> dict[str, list[int]]:
            async with rt.pool.connection() as conn:
                rows = await console_store.activity(conn)
            return chart.per_minute(rows, dt.datetime.now(dt.UTC))

        counts = await self._activity.get(activity)
        return {
            # Its lifecycle only: the row's ciphertext and digest never reach a template.
            "token": await access_token.get(rt.pool, environment_account(rt.settings)),
            "report": report,
            "queues": queues(report["jobs"]),
            "holds": holds,
            "accounts": accounts,
            "chart": chart.activity_svg(counts, dt.datetime.now(dt.UTC)),
            "totals": {name: sum(values) for name, values in counts.items()},
        }


def queues(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per queue: jobs waiting and running, and the oldest wait, from the report's rows."""
    by_queue: dict[str, dict[str, Any]] = {
        name: {"queue": name, "todo": 0, "doing": 0, "oldest_wait": None} for name in QUEUES
    }
    for row in jobs:
        queue = by_queue.setdefault(
            row["queue"], {"queue": row["queue"], "todo": 0, "doing": 0, "oldest_wait": None}
        )
        if row["status"] in ("todo", "doing"):
            queue[row["status"]] += row["jobs"]
        wait = row["oldest_todo_seconds"]
        if wait is not None and (queue["oldest_wait"] is None or wait > queue["oldest_wait"]):
            queue["oldest_wait"] = wait
    return sorted(by_queue.values(), key=lambda q: q["queue"])
