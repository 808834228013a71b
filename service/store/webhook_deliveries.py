"""The `webhook_deliveries` table: Meta's deliveries as received, and what became of them."""

from __future__ import annotations

from service.core.db import Connection
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import WebhookDelivery, from_row

_INSERT = query("webhook_deliveries_insert")
_GET = query("webhook_deliveries_get")
_RECORD_ATTEMPT = query("webhook_deliveries_record_attempt")
_PURGE = query("webhook_deliveries_purge")
_ORPHANED = query("webhook_deliveries_orphaned")


async def insert(conn: Connection, *, body: str, signed: bool) -> int:
    """Store a delivery; `body` is JSON text, which Postgres decodes into jsonb."""
    row = await fetch_row(conn, _INSERT, {"body": body, "signed": signed})
    return row["id"]


async def get(conn: Connection, delivery_id: int) -> WebhookDelivery | None:
    row = await fetch_one(conn, _GET, {"id": delivery_id})
    return None if row is None else from_row(WebhookDelivery, row)


async def record_attempt(
    conn: Connection,
    delivery_id: int,
    *,
    status: str,
    messages_forwarded: int,
    last_error: str | None,
) -> WebhookDelivery | None:
    row = await fetch_one(
        conn,
        _RECORD_ATTEMPT,
        {
            "id": delivery_id,
            "status": status,
            "messages_forwarded": messages_forwarded,
            "last_error": last_error,
        },
    )
    return None if row is None else from_row(WebhookDelivery, row)


async def purge_forwarded(conn: Connection, *, retention_days: int) -> int:
    row = await fetch_row(conn, _PURGE, {"retention_days": retention_days})
    return row["deleted"]


async def lock_orphaned(conn: Connection, *, task_name: str, limit: int) -> list[int]:
    """Ids of deliveries still received whose `task_name` job is no longer queued or
    running, locked until the transaction ends."""
    cur = await conn.execute(_ORPHANED, {"task_name": task_name, "limit": limit})
    return [row["id"] for row in await cur.fetchall()]
