"""`ingest retry-failed` and `ingest replay`: open what they need, run, print the outcome."""

from __future__ import annotations

from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.operations import requeue


async def retry_failed(
    settings: Settings,
    *,
    kind: str | None,
    recipient: str | None,
    since_seconds: float | None,
    include_unknown: bool,
    dry_run: bool,
    batch_size: int,
    error: str | None = None,
    account: str | None = None,
) -> int:
    async with open_runtime(settings, pool_max_size=2) as rt:
        requeued = await requeue.retry_failed(
            rt,
            kind=kind,
            recipient=recipient,
            since_seconds=since_seconds,
            include_unknown=include_unknown,
            dry_run=dry_run,
            batch_size=batch_size,
            error=error,
            account=account,
        )
    dms = requeued.dms
    console = Console()
    if dms:
        table = Table(
            *(
                Column(c, overflow="fold")
                for c in ("id", "recipient_ig_id", "kind", "attempts", "last error")
            )
        )
        for dm in dms:
            # Text, not markup: recipients and Graph API errors come from outside.
            table.add_row(
                *(
                    Text(cell)
                    for cell in (
                        str(dm.id),
                        dm.recipient_ig_id,
                        dm.kind,
                        str(dm.attempts),
                        dm.error or "-",
                    )
                )
            )
        console.print(table)
    verb = "would be re-queued (dry run)" if dry_run else "re-queued"
    console.print(f"{len(dms)} failed DM{'' if len(dms) == 1 else 's'} {verb}")
    if requeued.window_closed:
        console.print(
            f"{requeued.window_closed} skipped: the recipient's messaging window has closed"
            " (they would fail again at once; MESSAGING_WINDOW_SECONDS)",
            soft_wrap=True,
        )
    if unknown := requeued.unknown_left_out:
        console.print(
            f"{unknown} failed DM{'' if unknown == 1 else 's'} whose delivery is unknown left"
            " out (--include-unknown re-queues them; the user may get a second copy)",
            soft_wrap=True,
        )
    return 0


async def replay(settings: Settings, mid: str) -> int:
    async with open_runtime(settings, pool_max_size=2) as rt:
        job_id = await requeue.replay(rt, mid)
    Console().print(Text(f"message {mid} queued to be decided again (job {job_id})"))
    return 0
