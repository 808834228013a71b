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
from service.store.rows import OutboundMessage, from_row

_INGEST = query("messages_ingest")
_DECIDE = query("messages_decide")
_REOPEN = query("messages_reopen")
_RELEASE = query("messages_release")
_UNSEND = query("messages_unsend")
_REMEMBER_UNSEND = query("messages_remember_unsend")
_EDIT = query("messages_edit")
_LOCK_MIDS = query("messages_lock_mids")
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


@dataclasses.dataclass(frozen=True)
class Decision:
    """What `decide` did: its outcome (`messages_decide`'s), the seconds from the message's
    storing to its handling (None when this call did not handle it), the message's sender
    (None when the mid is unknown) and the DMs the message still owes."""

    outcome: str
    latency_seconds: float | None
    sender_ig_id: str | None
    dms: list[OutboundMessage]


async def decide(
    conn: Connection,
    mid: str,
    *,
    acknowledgement: str,
    cooldown_seconds: float,
    verification: str | None = None,
    verification_resend_seconds: float = 0.0,
) -> Decision:
    """Decide the message's processing in one statement (autocommit is enough): handled, or
    answered with an acknowledgement (connected sender) or a verification DM (with
    `verification`, the DM's text; without it, an unconnected sender is `unconnected`
    and nothing changes)."""
    cur = await conn.execute(
        _DECIDE,
        {
            "mid": mid,
            "acknowledgement_payload": Jsonb({"text": acknowledgement}),
            "cooldown_seconds": cooldown_seconds,
            "verification_payload": None if verification is None else Jsonb({"text": verification}),
            "verification_resend_seconds": verification_resend_seconds,
        },
    )
    rows = await cur.fetchall()
    first = rows[0]
    return Decision(
        outcome=first["outcome"],
        latency_seconds=first["latency_seconds"],
        sender_ig_id=first["sender_ig_id"],
        dms=[from_row(OutboundMessage, row) for row in rows if row["id"] is not None],
    )


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


async def lock_mids(
    conn: Connection, *, shared: Sequence[str] = (), exclusive: Sequence[str] = ()
) -> None:
    """Lock the mids until the transaction ends (migration 0028): shared for messages to
    store, exclusive for unsends and edits; first, before anything else it does."""
    await conn.execute(_LOCK_MIDS, {"shared": list(shared), "exclusive": list(exclusive)})
