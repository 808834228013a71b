"""The `webhook_subscription_checks` table: what the last read of each account's webhook
subscription found."""

from __future__ import annotations

from service.core.db import Connection
from service.store.queries import fetch_row, query

_RECORD = query("webhook_subscription_checks_record")


async def record(
    conn: Connection, *, scoped_id: str, subscribed: bool, fields: list[str], error: str | None
) -> bool:
    """Record a read; whether the read before it found the account unsubscribed."""
    row = await fetch_row(
        conn,
        _RECORD,
        {"scoped_id": scoped_id, "subscribed": subscribed, "fields": fields, "error": error},
    )
    return bool(row["was_unsubscribed"])
