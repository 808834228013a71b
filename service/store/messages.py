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
from service.messages.inbound import InboundEvent
from service.store.queries import fetch_one, fetch_row, query
from service.store.rows import InstagramProfile, Message, OutboundMessage, from_row

_INGEST = query("messages_ingest")
_CLAIM = query("messages_claim")
_ACKNOWLEDGE = query("messages_acknowledge")
_MARK_HANDLED = query("messages_mark_handled")
_REOPEN = query("messages_reopen")
_RELEASE = query("messages_release")
_UNSEND = query("messages_unsend")
_REMEMBER_UNSEND = query("messages_remember_unsend")
_EDIT = query("messages_edit")
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


async def claim(conn: Connection, mid: str) -> tuple[Message, InstagramProfile | None] | None:
    """Lock the message for its processing and, if it is to be answered, upsert and lock its
    sender's profile (None otherwise); None when the message is unknown."""
    row = await fetch_one(conn, _CLAIM, {"mid": mid})
    if row is None:
        return None
    profile = None
    if row["profile_ig_id"] is not None:
        profile = from_row(
            InstagramProfile,
            {
                name.removeprefix("profile_"): value
                for name, value in row.items()
                if name.startswith("profile_")
            },
        )
    return from_row(Message, row), profile


async def acknowledge(
    conn: Connection,
    mid: str,
    *,
    profile: InstagramProfile,
    text: str,
    to_phase3: bool = True,
    cooldown_seconds: float = 0.0,
) -> tuple[float, OutboundMessage | None]:
    """A connected sender's message, decided: its acknowledgement DM, its Phase 3 row
    (unless not `to_phase3`) and handled. Returns the seconds since the message was stored,
    and the DM (None if the message already had one, or the sender had one within
    `cooldown_seconds`)."""
    row = await fetch_row(
        conn,
        _ACKNOWLEDGE,
        {
            "mid": mid,
            "ig_id": profile.ig_id,
            "connected_user_id": profile.connected_user_id,
            "payload": Jsonb({"text": text}),
            "to_phase3": to_phase3,
            "cooldown_seconds": cooldown_seconds,
        },
    )
    dm = None if row["id"] is None else from_row(OutboundMessage, row)
    return row["latency_seconds"], dm


async def mark_handled(conn: Connection, mid: str, *, processed: bool) -> float:
    """Record that processing finished; returns the seconds since the message was stored."""
    row = await fetch_row(conn, _MARK_HANDLED, {"mid": mid, "processed": processed})
    return row["latency_seconds"]


async def reopen(conn: Connection, mid: str) -> bool:
    """Clear the message's handled_at so its processing can run again; False if unknown."""
    return await fetch_one(conn, _REOPEN, {"mid": mid}) is not None


async def release(conn: Connection, *, ig_id: str, user_id: uuid.UUID, window_days: int) -> int:
    """Queue for Phase 3 what the account sent while unconnected, within `window_days`;
    returns how many messages that was."""
    row = await fetch_row(
        conn, _RELEASE, {"ig_id": ig_id, "user_id": user_id, "window_days": window_days}
    )
    return row["released"]


def _json(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


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
