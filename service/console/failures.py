"""What failed, and the operator's answers to it: failed DMs (filtered, paged by keyset)
with their re-queue, failed webhook deliveries with their replay, and stalled jobs.

Re-queue is `ingest retry-failed`'s own code (`service.operations.requeue`), dry run and
all; replay is `ingest replay-delivery`'s (`service.webhooks.forward.forward_delivery`,
once, now). Each action is logged with the operator who asked, and what it changed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from typing import Any

import structlog

from service.business_account.accounts import environment_account
from service.core.runtime import Runtime
from service.operations import requeue
from service.store import console as console_store
from service.store.rows import DMKind
from service.webhooks.forward import ForwardResult, forward_delivery

log = structlog.get_logger("console")
PAGE = 50
KINDS = tuple(DMKind)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DMFilter:
    """Which failed DMs: each part optional. `since_seconds`: failed that recently."""

    kind: str | None = None
    error: str | None = None
    since_seconds: float | None = None
    # The account sending.
    account: str | None = None

    def arguments(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


async def listing(
    rt: Runtime,
    which: DMFilter,
    *,
    dms_before: tuple[dt.datetime, uuid.UUID] | None = None,
    deliveries_before: tuple[dt.datetime, int] | None = None,
) -> dict[str, Any]:
    async with rt.pool.connection() as conn:
        dms = await console_store.failed_dms(
            conn,
            limit=PAGE + 1,
            before=dms_before,
            environment=environment_account(rt.settings),
            **which.arguments(),
        )
        deliveries = await console_store.failed_deliveries(
            conn, limit=PAGE + 1, before=deliveries_before
        )
        stalled = await console_store.stalled_jobs(conn)
    return {
        "dms": dms[:PAGE],
        "dms_next": dms[PAGE - 1] if len(dms) > PAGE else None,
        "deliveries": deliveries[:PAGE],
        "deliveries_next": deliveries[PAGE - 1] if len(deliveries) > PAGE else None,
        "stalled": stalled,
    }


async def requeue_dms(
    rt: Runtime,
    which: DMFilter,
    *,
    operator: str,
    outbound_id: uuid.UUID | None = None,
    dry_run: bool = False,
) -> requeue.Requeued:
    """`ingest retry-failed`'s re-queue (DMs whose delivery is unknown left out, as there
    without `--include-unknown`)."""
    result = await requeue.retry_failed(
        rt, **which.arguments(), outbound_id=outbound_id, dry_run=dry_run
    )
    if not dry_run:
        log.info(
            "console action",
            operator=operator,
            action="requeue_failed_dms",
            **which.arguments(),
            outbound_id=str(outbound_id) if outbound_id else None,
            requeued=len(result.dms),
            outbound_ids=[str(dm.id) for dm in result.dms[:100]],
        )
    return result


async def replay_delivery(rt: Runtime, delivery_id: int, *, operator: str) -> ForwardResult | None:
    result = await forward_delivery(rt, delivery_id, retry=False)
    log.info(
        "console action",
        operator=operator,
        action="replay_delivery",
        delivery_id=delivery_id,
        outcome=result.delivery.status if result else "not found",
        messages_forwarded=result.delivery.messages_forwarded if result else 0,
    )
    return result


def log_reveal(operator: str, mid: str) -> None:
    """Texts are users' private messages: who read which is kept."""
    log.info("console action", operator=operator, action="reveal_message", mid=mid)
