"""`ingest status`: the status report as tables (rich) or JSON, once or refreshed.

The exit code is the check's result: 0 healthy, 1 unhealthy (with `--watch`, that of
the last report), so the command serves as a check in scripts and cron.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
from typing import Any

import psycopg
from psycopg.rows import dict_row
from rich.console import Console, Group
from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from service.core.settings import Settings
from service.operations import status
from service.operations.thresholds import Thresholds

CONNECT_TIMEOUT_SECONDS = 10
# C0 and C1 control characters and DEL: rich passes ESC through to the terminal.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Each table: its title, the report's key, and the columns shown.
TABLES = (
    ("Jobs", "jobs", ("queue", "task", "status", "jobs", "oldest_todo_seconds")),
    ("DMs in the window", "outbound", ("kind", "status", "dms", "attempts", "window_closed")),
    (
        "Latest failed DMs",
        "outbound_failed",
        ("id", "recipient_ig_id", "kind", "attempts", "error", "failed_at"),
    ),
    (
        "Access tokens, by account",
        "access_tokens",
        (
            "scoped_id",
            "source",
            "age_seconds",
            "expires_at",
            "refreshed_at",
            "refresh_error",
            "invalid_error",
        ),
    ),
    (
        "Webhook subscriptions, by account",
        "webhook_subscriptions",
        ("scoped_id", "checked_at", "subscribed", "subscribed_fields", "error"),
    ),
    ("Accounts held by a rate limit", "rate_limit_holds", ("scoped_id", "seconds")),
    (
        "Reconciliation (latest run)",
        "reconcile_runs",
        (
            "account_id",
            "started_at",
            "finished_at",
            "conversations",
            "messages_seen",
            "already_stored",
            "recovered",
            "gaps",
            "calls",
        ),
    ),
    ("Phase 3 backlog", "phase3", ("status", "items", "oldest_message_id", "oldest_seconds")),
    (
        "Webhook deliveries not forwarded",
        "deliveries",
        ("status", "deliveries", "in_window", "oldest_seconds", "latest_id", "latest_error"),
    ),
    (
        "Stalled jobs",
        "stalled_jobs",
        ("id", "queue", "task", "args", "worker_id", "last_heartbeat", "started_at"),
    ),
)


def render(report: dict[str, Any]) -> Group:
    checks = Table(
        "check",
        "value",
        "limit",
        "",
        Column("detail", overflow="fold"),
        title="Health",
        title_justify="left",
    )
    for check in report["checks"]:
        mark = "[green]ok[/]" if check["ok"] else "[bold red]FAIL[/]"
        checks.add_row(
            check["name"], str(check["value"]), f"{check['limit']:g}", mark, _cell(check["detail"])
        )
    tables = [checks]
    for title, key, columns in TABLES:
        # Folded, not cut: an id or an error is no use half shown.
        table = Table(
            *(Column(c, overflow="fold") for c in columns), title=title, title_justify="left"
        )
        for row in report[key]:
            table.add_row(*(_cell(row[column]) for column in columns))
        tables.append(table)
    unhandled = report["messages_unhandled"]
    waiting = Text(
        f"Messages not decided after {report['thresholds']['unhandled_after']:g} s:"
        f" {unhandled['messages']}"
    )
    if unhandled["messages"]:
        waiting.append(
            f" (oldest {_printable(unhandled['oldest_mid'])}, {unhandled['oldest_seconds']} s)"
        )
    reads = report["verification_reads"]
    opened = Text(
        f"Verification DMs sent in the window: {reads['sent']},"
        f" read within an hour: {reads['read_within_hour']}"
    )
    verdict = "[green]healthy[/]" if report["healthy"] else "[bold red]unhealthy[/]"
    return Group(*tables, waiting, opened, f"{verdict} at {report['generated_at']}")


def _cell(value: Any) -> Text:
    """A cell's text, never read as rich markup: error texts and ids come from outside."""
    if value is None:
        return Text("-")
    return Text(_printable(json.dumps(value) if isinstance(value, (dict, list)) else str(value)))


def _printable(text: str) -> str:
    """`text` with each control character shown as its escape (`\\x1b`)."""
    return _CONTROL.sub(lambda char: f"\\x{ord(char[0]):02x}", text)


def exit_code(report: dict[str, Any]) -> int:
    return 0 if report["healthy"] else 1


async def run(
    settings: Settings,
    thresholds: Thresholds,
    *,
    as_json: bool = False,
    watch: bool = False,
    interval: float = 2.0,
    check_remote: bool = False,
) -> int:
    console = Console()
    if check_remote:
        await _check_remote(settings, console, as_json)
    # One connection, not a pool: an unreachable database fails the check at once.
    async with await psycopg.AsyncConnection.connect(
        settings.database_url,
        row_factory=dict_row,
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
    ) as conn:
        timeout = settings.status_statement_timeout_seconds
        silence, window = settings.webhook_silence_seconds, settings.messaging_window_seconds
        report = await status.collect(
            conn,
            thresholds,
            statement_timeout=timeout,
            webhook_silence_seconds=silence,
            messaging_window=window,
        )
        if not watch:
            _show(console, report, as_json)
            return exit_code(report)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        live = None if as_json else Live(render(report), console=console, auto_refresh=False)
        with live or contextlib.nullcontext():
            while True:
                if live is None:
                    _show(console, report, as_json=True)
                else:
                    live.update(render(report), refresh=True)
                try:
                    await asyncio.wait_for(stop.wait(), interval)
                    return exit_code(report)
                except TimeoutError:
                    report = await status.collect(
                        conn,
                        thresholds,
                        statement_timeout=timeout,
                        webhook_silence_seconds=silence,
                        messaging_window=window,
                    )


def _show(console: Console, report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report), flush=True)
    else:
        console.print(render(report))


async def _check_remote(settings: Settings, console: Console, as_json: bool) -> None:
    """Read the webhook subscription from Meta now, so the report's check is current."""
    from service.business_account import webhook_subscription
    from service.business_account.runtime import open_runtime
    from service.reconcile import triggers

    async with open_runtime(settings, pool_max_size=2) as rt:
        checks = await webhook_subscription.check_all(rt)
        for account, found in checks.items():
            await triggers.after_subscription_check(rt, account, restored=found.restored)
    if not as_json:
        for account, found in checks.items():
            fields = ", ".join(found.fields) or "none"
            detail = f" ({found.error})" if found.error else ""
            console.print(Text(f"webhook subscription of {account}: {fields}{detail}"))
