"""The `verification_tokens` table: hashes only, never a plaintext token."""

from __future__ import annotations

import uuid

from service.core.db import Connection
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import VerificationToken, from_row

_UPSERT_FOR_EVENT = query("verification_tokens_upsert_for_event", returns=VerificationToken)
_INSERT_FOR_EVENT = query("verification_tokens_insert_for_event", returns=VerificationToken)
_GET_FOR_EVENT = query("verification_tokens_get_for_event", returns=VerificationToken)
_GET_LIVE = query("verification_tokens_get_live", returns=VerificationToken)
_LOCK = query("verification_tokens_lock", returns=VerificationToken)
_LOCK_FOR_EVENT = query("verification_tokens_lock_for_event", returns=VerificationToken)
_CONSUME = query("verification_tokens_consume")


async def upsert_for_event(
    conn: Connection, *, token_hash: str, ig_id: str, event_id: str | None, ttl_seconds: int
) -> VerificationToken | None:
    """Store the hash; for an event, replace its unconsumed token of the same account. None
    if it was consumed or is another account's."""
    row = await fetch_one(
        conn,
        _UPSERT_FOR_EVENT,
        {
            "token_hash": token_hash,
            "ig_id": ig_id,
            "event_id": event_id,
            "ttl_seconds": ttl_seconds,
        },
    )
    return None if row is None else from_row(VerificationToken, row)


async def insert_for_event(
    conn: Connection, *, token_hash: str, ig_id: str, event_id: str, ttl_seconds: int
) -> VerificationToken | None:
    """Store the hash as the event's token; None if the event has one already."""
    row = await fetch_one(
        conn,
        _INSERT_FOR_EVENT,
        {
            "token_hash": token_hash,
            "ig_id": ig_id,
            "event_id": event_id,
            "ttl_seconds": ttl_seconds,
        },
    )
    return None if row is None else from_row(VerificationToken, row)


async def get_for_event(conn: Connection, event_id: str) -> VerificationToken | None:
    row = await fetch_one(conn, _GET_FOR_EVENT, {"event_id": event_id})
    return None if row is None else from_row(VerificationToken, row)


async def lock_for_event(conn: Connection, event_id: str) -> VerificationToken | None:
    row = await fetch_one(conn, _LOCK_FOR_EVENT, {"event_id": event_id})
    return None if row is None else from_row(VerificationToken, row)


async def get_live(conn: Connection, *, token_hash: str, ig_id: str) -> VerificationToken | None:
    row = await fetch_one(conn, _GET_LIVE, {"token_hash": token_hash, "ig_id": ig_id})
    return None if row is None else from_row(VerificationToken, row)


async def lock(conn: Connection, token_hash: str) -> tuple[VerificationToken, bool] | None:
    """The token and whether it has expired, locked until the transaction ends; None if
    no token has this hash."""
    row = await fetch_one(conn, _LOCK, {"token_hash": token_hash})
    return None if row is None else (from_row(VerificationToken, row), row["expired"])


async def consume(
    conn: Connection, *, token_hash: str, user_id: uuid.UUID, released_messages: int
) -> None:
    await fetch_row(
        conn,
        _CONSUME,
        {"token_hash": token_hash, "user_id": user_id, "released_messages": released_messages},
    )
