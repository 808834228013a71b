"""The `message_edits` table: every edit event as received, once per (mid, num_edit)."""

from __future__ import annotations

import datetime as dt

from service.core.db import Connection
from service.store.queries import fetch_one, query

_INSERT = query("message_edits_insert")
_FORGET_TEXT = query("message_edits_forget_text")


async def insert(
    conn: Connection,
    *,
    mid: str,
    num_edit: int,
    text: str | None,
    sender_ig_id: str | None,
    edited_at: dt.datetime,
    applied: bool,
) -> bool:
    """Record the edit; False when this (mid, num_edit) was recorded before."""
    row = await fetch_one(
        conn,
        _INSERT,
        {
            "mid": mid,
            "num_edit": num_edit,
            "message_text": text,
            "sender_ig_id": sender_ig_id,
            "edited_at": edited_at,
            "applied": applied,
        },
    )
    return row is not None


async def forget_text(conn: Connection, mid: str) -> None:
    """Clear the text of every edit recorded for the message (it was unsent)."""
    await conn.execute(_FORGET_TEXT, {"mid": mid})
