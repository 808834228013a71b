"""The `idempotency_keys` table: send-dm's Idempotency-Key digests and the DM each made."""

from __future__ import annotations

import uuid

from service.core.db import Connection
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import IdempotencyKey, from_row

_INSERT = query("idempotency_keys_insert", returns=IdempotencyKey)
_GET = query("idempotency_keys_get", returns=IdempotencyKey)
_PURGE = query("idempotency_keys_purge")


async def insert(
    conn: Connection, *, key_hash: str, request_hash: str, outbound_message_id: uuid.UUID
) -> bool:
    """Record the key; False if it is taken (then `get` reads who took it)."""
    row = await fetch_one(
        conn,
        _INSERT,
        {
            "key_hash": key_hash,
            "request_hash": request_hash,
            "outbound_message_id": outbound_message_id,
        },
    )
    return row is not None


async def get(conn: Connection, key_hash: str) -> IdempotencyKey | None:
    row = await fetch_one(conn, _GET, {"key_hash": key_hash})
    return None if row is None else from_row(IdempotencyKey, row)


async def purge(conn: Connection, *, retention_seconds: float) -> int:
    """Delete the keys older than `retention_seconds`; returns how many."""
    row = await fetch_row(conn, _PURGE, {"retention_seconds": retention_seconds})
    return row["deleted"]
