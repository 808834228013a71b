"""Read receipts (Meta's `read` events, the `messaging_seen` webhook field): the user read the
conversation up to a message, which `forward_delivery` records on our DMs to them
(`outbound_messages.read_at`), so operators see a DM read and the status report counts the
verification DMs opened. A receipt is never answered and never forwarded; recording one
again changes nothing, so a delivery retried records it once.
"""

from __future__ import annotations

import datetime as dt

from service.core.db import Connection
from service.store import outbound_reads
from service.webhooks.events import ParsedDelivery


def receipts(parsed: ParsedDelivery) -> dict[tuple[str, str], dt.datetime]:
    """{(reader, mid read up to): when} of the delivery's read events that name both."""
    found: dict[tuple[str, str], dt.datetime] = {}
    for event in parsed.other_events:
        if event.kind != "read" or event.sender_id is None or event.mid is None:
            continue
        if not isinstance(event.timestamp_ms, int):
            continue
        at = dt.datetime.fromtimestamp(event.timestamp_ms / 1000, dt.UTC)
        key = (event.sender_id, event.mid)
        found[key] = max(at, found.get(key, at))
    return found


async def record(conn: Connection, parsed: ParsedDelivery) -> int:
    """Record the delivery's read receipts; returns how many DMs they marked read."""
    marked = 0
    for (reader, mid), at in sorted(receipts(parsed).items()):
        marked += await outbound_reads.record_read(conn, reader=reader, mid=mid, read_at=at)
    return marked
