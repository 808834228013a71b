"""Read receipts on `outbound_messages` (`read_at`): which of our DMs their recipient read."""

from __future__ import annotations

import datetime as dt

from service.core.db import Connection
from service.store.queries import fetch_row, query

_RECORD_READ = query("outbound_messages_record_read")


async def record_read(conn: Connection, *, reader: str, mid: str, read_at: dt.datetime) -> int:
    """`reader` read up to message `mid`: mark read every DM sent to them up to it, not read
    before; returns how many."""
    row = await fetch_row(conn, _RECORD_READ, {"reader": reader, "mid": mid, "read_at": read_at})
    return row["marked"]
