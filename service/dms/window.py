"""Meta's standard messaging window: a business may message a user only within 24 hours
(`MESSAGING_WINDOW_SECONDS`) of the user's last inbound event.

A DM to a user whose window has closed would be refused by Meta (code 10, subcode
2534022), so it fails at once, without a Graph API call, its error naming the window. The
rule itself (`messaging_window_closed_v1`, service/store/sql/functions.sql) is shared with
`ingest retry-failed` and the status report; a user we have never heard from is sent to,
and Meta decides.
"""

from __future__ import annotations

from service.core.db import Connection
from service.core.settings import Settings
from service.store import outbound_messages
from service.store.rows import OutboundMessage

# How every such DM's error begins.
WINDOW_CLOSED = "outside the messaging window"


def closed_error(settings: Settings) -> str:
    return (
        f"{WINDOW_CLOSED}: the recipient last wrote more than "
        f"{settings.messaging_window_seconds} s ago (MESSAGING_WINDOW_SECONDS), so Meta would "
        "refuse it; not sent"
    )


async def refuse_if_closed(
    conn: Connection, settings: Settings, dm: OutboundMessage, *, lease_seconds: float
) -> OutboundMessage | None:
    """Fail the pending DM if its recipient's window has closed; returns the failed row, or
    None when the DM may be sent (or an attempt younger than `lease_seconds` holds it)."""
    return await outbound_messages.fail_if_window_closed(
        conn,
        dm.id,
        window_seconds=settings.messaging_window_seconds,
        lease_seconds=lease_seconds,
        error=closed_error(settings),
    )
