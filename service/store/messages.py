"""The `messages` table."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import msgspec
from psycopg.types.json import Jsonb

from service.core.db import Connection
from service.store.inbound_event import InboundEvent
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import DMKind, MessageClaim, OutboundMessage, from_row
from service.store.shared_items import SharedItem

_INGEST = query("messages_ingest")
_CLAIM = query("messages_claim", returns=MessageClaim)
_RECORD_DECISION = query("messages_record_decision", returns=OutboundMessage)
_CLAIM_MANY = query("messages_claim_many", returns=MessageClaim)
_RECORD_DECISIONS = query("messages_record_decisions", returns=OutboundMessage)
_REOPEN = query("messages_reopen")
_RELEASE = query("messages_release")
_UNSEND = query("messages_unsend")
_REMEMBER_UNSEND = query("messages_remember_unsend")
_EDIT = query("messages_edit")
_LOCK_MIDS = query("messages_lock_mids")
_MEDIA = query("messages_media")
_REFRESH_MEDIA = query("messages_refresh_media")
_MEDIA_GONE = query("messages_media_gone")
_EVENTS = msgspec.json.Encoder()


async def ingest(
    conn: Connection, events: Sequence[InboundEvent], *, queue: str, task: str
) -> list[str]:
    """Store the events' messages unless their mids are known, note their senders' windows,
    and defer `task` on `queue` for each new message, in one statement: all or none of it.
    Returns the new mids, in the events' order (a mid repeated counts at its first place)."""
    row = await fetch_row(
        conn,
        _INGEST,
        {"events": _EVENTS.encode(events).decode(), "queue": queue, "task": task},
    )
    return row["new_mids"] or []


async def claim(conn: Connection, mid: str, *, fallback: str | None) -> MessageClaim | None:
    """Lock the message for its decision, find its answered account (`fallback`: the one
    that answers a message no answered account's id names) and, when it may be answered,
    find or create and lock its sender's profile; None when the mid is unknown. Within a
    transaction: the locks last until the decision is recorded."""
    row = await fetch_one(conn, _CLAIM, {"mid": mid, "fallback": fallback})
    return None if row is None else from_row(MessageClaim, row)


async def claim_many(
    conn: Connection, mids: Sequence[str], *, fallback: str | None
) -> dict[str, MessageClaim]:
    """`claim` for several messages in one statement, by mid; an unknown mid is left out.
    Messages are locked in mid order, then their senders' profiles in ig_id order."""
    cur = await conn.execute(_CLAIM_MANY, {"mids": list(mids), "fallback": fallback})
    claims = (from_row(MessageClaim, row) for row in await cur.fetchall())
    return {claim.id: claim for claim in claims}


@dataclasses.dataclass(frozen=True)
class Decided:
    """One decision for `record_decisions`."""

    message: MessageClaim
    dm_kind: DMKind | None
    dm_text: str | None
    to_phase3: bool


async def record_decisions(conn: Connection, decided: Sequence[Decided]) -> dict[str, Recorded]:
    """`record_decision` for several messages in one statement, in `decided`'s order (their
    DMs and Phase 3 rows made in it); by mid."""
    if not decided:
        return {}
    params = {
        "mids": [d.message.id for d in decided],
        "sender_ig_ids": [d.message.sender_ig_id for d in decided],
        "connected_user_ids": [d.message.connected_user_id for d in decided],
        "dm_kinds": [None if d.dm_kind is None else str(d.dm_kind) for d in decided],
        "dm_payloads": [None if d.dm_text is None else Jsonb({"text": d.dm_text}) for d in decided],
        "to_phase3": [d.to_phase3 for d in decided],
        "account_ig_ids": [d.message.account_ig_id for d in decided],
    }
    cur = await conn.execute(_RECORD_DECISIONS, params)
    return {
        row["mid"]: Recorded(
            latency_seconds=row["latency_seconds"],
            dm=None if row["id"] is None else from_row(OutboundMessage, row),
        )
        for row in await cur.fetchall()
    }


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What `record_decision` did: the seconds from the message's storing to its decision,
    and the DM it created (None when it created none)."""

    latency_seconds: float
    dm: OutboundMessage | None


async def record_decision(
    conn: Connection,
    message: MessageClaim,
    *,
    dm_kind: DMKind | None,
    dm_text: str | None,
    to_phase3: bool,
) -> Recorded:
    """Record the message's decision: its DM of `dm_kind` with `dm_text` (none when the
    message has one of this kind), its Phase 3 row when `to_phase3`, and decided."""
    row = await fetch_row(
        conn,
        _RECORD_DECISION,
        {
            "mid": message.id,
            "sender_ig_id": message.sender_ig_id,
            "connected_user_id": message.connected_user_id,
            "dm_kind": dm_kind,
            "dm_payload": None if dm_text is None else Jsonb({"text": dm_text}),
            "to_phase3": to_phase3,
            "account_ig_id": message.account_ig_id,
        },
    )
    dm = None if row["id"] is None else from_row(OutboundMessage, row)
    return Recorded(latency_seconds=row["latency_seconds"], dm=dm)


async def reopen(conn: Connection, mid: str) -> bool:
    """Clear the message's decided_at so its decision can run again; False if unknown."""
    return await fetch_one(conn, _REOPEN, {"mid": mid}) is not None


async def release(conn: Connection, *, ig_id: str, user_id: uuid.UUID, window_days: int) -> int:
    """Queue for Phase 3 what the account sent while unconnected, within `window_days`;
    returns how many messages that was."""
    row = await fetch_row(
        conn, _RELEASE, {"ig_id": ig_id, "user_id": user_id, "window_days": window_days}
    )
    return row["released"]


async def unsend(conn: Connection, mid: str) -> bool | None:
    """Clear the stored message's content and mark it unsent, locking it; True when this
    call unsent it, False when it was unsent before, None when the mid is not stored."""
    row = await fetch_one(conn, _UNSEND, {"mid": mid})
    return None if row is None else row["cleared"]


async def remember_unsend(conn: Connection, event: InboundEvent) -> bool:
    """Store the tombstone of a message unsent before it arrived; False when the mid turned
    out to be stored (by a transaction that committed meanwhile)."""
    params = {
        "mid": event.mid,
        "sender_ig_id": event.sender_ig_id,
        "recipient_ig_id": event.recipient_ig_id,
        "timestamp": event.timestamp,
        "is_echo": event.is_echo,
        "source": event.source,
    }
    return await fetch_one(conn, _REMEMBER_UNSEND, params) is not None


@dataclasses.dataclass(frozen=True)
class Edited:
    """What an edit found: the message unsent (it keeps no text), or whether it applied."""

    unsent: bool
    applied: bool


async def edit(
    conn: Connection, *, mid: str, text: str | None, num_edit: int, edited_at: dt.datetime
) -> Edited | None:
    """Give the message the edited text unless it already had this edit or a later one, or
    was unsent; None when the mid is not stored."""
    row = await fetch_one(
        conn,
        _EDIT,
        {"mid": mid, "message_text": text, "num_edit": num_edit, "edited_at": edited_at},
    )
    if row is None:
        return None
    return Edited(unsent=row["deleted_at"] is not None, applied=row["applied"])


async def lock_mids(
    conn: Connection, *, shared: Sequence[str] = (), exclusive: Sequence[str] = ()
) -> None:
    """Lock the mids until the transaction ends (migration 0028): shared for messages to
    store, exclusive for unsends and edits; first, before anything else it does."""
    await conn.execute(_LOCK_MIDS, {"shared": list(shared), "exclusive": list(exclusive)})


@dataclasses.dataclass(frozen=True)
class Media:
    """What a refresh of a message's media URLs reads of it."""

    recipient_ig_id: str  # the account it was sent to, which reads it again
    attachments: Any
    shared_items: list[dict[str, Any]]
    deleted_at: dt.datetime | None
    media_refreshed_at: dt.datetime | None
    media_gone_at: dt.datetime | None


async def media(conn: Connection, mid: str) -> Media | None:
    row = await fetch_one(conn, _MEDIA, {"mid": mid})
    if row is None:
        return None
    return Media(**{name: row[name] for name in Media.__dataclass_fields__})


async def refresh_media(
    conn: Connection, mid: str, shared_items: Sequence[SharedItem]
) -> dt.datetime | None:
    """Store the shared items with fresh URLs; their time, or None when it was unsent."""
    row = await fetch_one(
        conn, _REFRESH_MEDIA, {"mid": mid, "shared_items": Jsonb(msgspec.to_builtins(shared_items))}
    )
    return None if row is None else row["media_refreshed_at"]


async def media_gone(conn: Connection, mid: str) -> None:
    """Meta no longer has the message: recorded, so that it is not asked again."""
    await conn.execute(_MEDIA_GONE, {"mid": mid})
