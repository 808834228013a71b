"""Unsends (Meta's `is_deleted`): a message its sender took back is forgotten.

A stored message loses its text, attachments, quick reply and shared items and gets
`deleted_at`, its recorded edits and the stored webhook deliveries that carried it or its
edits lose their text (as does an edit or the message itself arriving later), and its
Phase 3 row is withdrawn, or followed by a deletion notice when a consumer may already
have worked on it (`phase3_queue.withdraw`, docs/phase3.md). An unsend that arrives before
its message is remembered as the message's row itself, already unsent and decided, so the
message, arriving later, is a known mid: stored deleted, never processed, never answered.
An unsend is never answered either, and repeating one changes nothing.
"""

from __future__ import annotations

import dataclasses
import enum

from service.core.db import Connection
from service.store import message_edits, messages, phase3_queue, webhook_deliveries
from service.store.inbound_event import InboundEvent


class UnsendOutcome(enum.StrEnum):
    UNSENT = "unsent"  # a stored message, cleared now
    REMEMBERED = "remembered"  # before its message: the tombstone is stored
    REPEATED = "repeated"  # unsent before: nothing changed


@dataclasses.dataclass(frozen=True)
class Unsent:
    outcome: UnsendOutcome
    withdrawn: int = 0  # Phase 3 rows withdrawn
    notices: int = 0  # Phase 3 deletion notices queued


async def unsend(conn: Connection, event: InboundEvent) -> Unsent:
    """Forget the message of `event.mid`, stored or still to come, in the caller's
    transaction (its outcome is counted by the caller, once committed)."""
    unsent = await _forget_message(conn, event)
    # Every copy of the text goes: the edits' too, those that came before the message as
    # well, and the stored webhook deliveries'.
    await message_edits.forget_text(conn, event.mid)
    await webhook_deliveries.forget_message(conn, event.mid)
    return unsent


async def _forget_message(conn: Connection, event: InboundEvent) -> Unsent:
    cleared = await messages.unsend(conn, event.mid)
    if cleared is None:
        if await messages.remember_unsend(conn, event):
            return Unsent(UnsendOutcome.REMEMBERED)
        # The message was stored meanwhile, by a transaction that committed after this
        # statement's snapshot: unsend it as stored.
        cleared = await messages.unsend(conn, event.mid)
    # The message's row lock, taken above, orders this after any Phase 3 row its
    # decision added, and before any its decision would add (it finds it unsent).
    withdrawn, notices = await phase3_queue.withdraw(conn, event.mid)
    outcome = UnsendOutcome.UNSENT if cleared else UnsendOutcome.REPEATED
    return Unsent(outcome, withdrawn, notices)
