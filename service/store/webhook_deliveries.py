"""The `webhook_deliveries` table: Meta's deliveries as received, and what became of them."""

from __future__ import annotations

from service.core.db import Connection
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import StoredDelivery, WebhookDelivery, from_row

_RELEASE_DIGEST = query("webhook_deliveries_release_digest")
_INSERT = query("webhook_deliveries_insert")
_GET_BY_DIGEST = query("webhook_deliveries_get_by_digest")
_REQUEUE_FAILED = query("webhook_deliveries_requeue_failed")
_GET = query("webhook_deliveries_get", returns=StoredDelivery)
_RECORD_ATTEMPT = query("webhook_deliveries_record_attempt", returns=WebhookDelivery)
_PURGE = query("webhook_deliveries_purge")
_ORPHANED = query("webhook_deliveries_orphaned")
_FORGET_MESSAGE = query("webhook_deliveries_forget_message")
_SILENCE_BEFORE = query("webhook_deliveries_silence_before")


async def insert_once(
    conn: Connection, *, body: str, signed: bool, body_sha256: bytes, window_seconds: float
) -> tuple[int, bool]:
    """Store a delivery (`body` is JSON text, which Postgres decodes into jsonb) unless
    one of the same bytes (`body_sha256`) was received within `window_seconds`; returns
    the delivery's id and whether it is new. Run it in the transaction that defers the
    new delivery's job."""
    params = {"body": body, "signed": signed, "body_sha256": body_sha256}
    await conn.execute(_RELEASE_DIGEST, {**params, "window_seconds": window_seconds})
    while True:
        inserted = await fetch_one(conn, _INSERT, params)
        if inserted is not None:
            return inserted["id"], True
        # Stored by another post; unless that row's digest was released meanwhile.
        stored = await fetch_one(conn, _GET_BY_DIGEST, params)
        if stored is not None:
            return stored["id"], False


async def get(conn: Connection, delivery_id: int) -> StoredDelivery | None:
    row = await fetch_one(conn, _GET, {"id": delivery_id})
    return None if row is None else from_row(StoredDelivery, row)


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


async def requeue_failed(
    conn: Connection, *, since_seconds: float | None, batch_size: int, after_id: int | None
) -> list[int]:
    """Set up to `batch_size` failed deliveries with ids above `after_id` back to received,
    with a fresh retry budget; their ids, ascending."""
    cur = await conn.execute(
        _REQUEUE_FAILED,
        {"since_seconds": since_seconds, "batch_size": batch_size, "after_id": after_id},
    )
    return sorted(row["id"] for row in await cur.fetchall())


async def forget_message(conn: Connection, mid: str) -> None:
    """Clear an unsent message's content, and its edits' text, from the deliveries that
    carried them."""
    await conn.execute(_FORGET_MESSAGE, {"mid": mid})


async def silence_before(conn: Connection, delivery_id: int) -> float | None:
    """Seconds between this signed delivery and the signed one before it (None: unsigned,
    or the first)."""
    row = await fetch_one(conn, _SILENCE_BEFORE, {"id": delivery_id})
    return None if row is None else float(row["silent_seconds"])
