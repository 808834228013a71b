"""Edits (Meta's `message_edit`): a stored message takes the edited text.

An edit names the message by its mid and counts itself (`num_edit`: 1 for the first edit),
so a repeated or late edit (one the message already had, or an earlier one) changes
nothing. The original text stays in the stored webhook delivery, until the message is
unsent (`service.messages.unsends`). Every edit is recorded in `message_edits`, also when
its message is not stored, so nothing accepted is lost: Meta does not order its deliveries,
and the message, once stored, takes the text of the latest edit that came before it
(`ingest_messages_applying_edits_v1`, migration 0028). An edit of an unsent message is
recorded without its text: an unsent message keeps no text anywhere.

An edit that names no sender cannot be tied to a user: Meta is reported to send DMs to an
app that is not Live this way, as edits with `num_edit` 0 and no sender. Such an edit is
counted (`ingest_senderless_edits_total`, and the status check `senderless_edits_in_window`),
since it means messages are arriving in a form the service cannot store.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated

import msgspec

from service.core import metrics
from service.core.db import Connection
from service.core.runtime import Runtime
from service.messages.field_rules import Id, Text
from service.messages.timestamps import parse_event_timestamp
from service.store import message_edits, messages, webhook_deliveries

# Meta's clients allow five edits; the bound only keeps the count a sane integer.
NumEdit = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]


class IngestEditRequest(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """The body of `POST /api/internal/ingest-edit`."""

    mid: Id
    timestamp: str | int | float  # as ingest-event reads it: when the user edited
    num_edit: NumEdit
    text: Text | None = None
    sender_ig_id: Id | None = None
    recipient_ig_id: Id | None = None


class EditOutcome(enum.StrEnum):
    APPLIED = "applied"  # the message took the edited text
    STALE = "stale"  # the message already had this edit or a later one
    UNSENT = "unsent"  # the message was unsent: it keeps no text
    UNKNOWN_MESSAGE = "unknown_message"  # no message of this mid is stored (yet)


async def ingest_edit(rt: Runtime, edit: IngestEditRequest, edited_at: dt.datetime) -> EditOutcome:
    """Apply the edit to its message, if stored, and record it; one transaction."""
    async with rt.pool.connection() as conn, conn.transaction():
        outcome, new = await record_edit(conn, edit, edited_at)
    if new:
        metrics.EDITS.labels(outcome.value).inc()
        if edit.sender_ig_id is None:
            metrics.SENDERLESS_EDITS.inc()
    return outcome


async def record_edit(
    conn: Connection, edit: IngestEditRequest, edited_at: dt.datetime
) -> tuple[EditOutcome, bool]:
    """`ingest_edit`'s work, in the caller's transaction: its outcome, and whether this
    (mid, num_edit) is new."""
    # Its message, or the message's unsend, being stored meanwhile waits for this edit to
    # commit, or this for it: either way one sees the other.
    await messages.lock_mids(conn, exclusive=[edit.mid])
    found = await messages.edit(
        conn, mid=edit.mid, text=edit.text, num_edit=edit.num_edit, edited_at=edited_at
    )
    outcome = _outcome(found)
    new = await message_edits.insert(
        conn,
        mid=edit.mid,
        num_edit=edit.num_edit,
        # An unsent message keeps no text anywhere, a later edit's neither.
        text=None if outcome == EditOutcome.UNSENT else edit.text,
        sender_ig_id=edit.sender_ig_id,
        edited_at=edited_at,
        applied=outcome == EditOutcome.APPLIED,
    )
    if outcome == EditOutcome.UNSENT:  # the delivery that brought the edit, stored already
        await webhook_deliveries.forget_message(conn, edit.mid)
    return outcome, new


def _outcome(found: messages.Edited | None) -> EditOutcome:
    if found is None:
        return EditOutcome.UNKNOWN_MESSAGE
    if found.unsent:
        return EditOutcome.UNSENT
    return EditOutcome.APPLIED if found.applied else EditOutcome.STALE


def edit_time(edit: IngestEditRequest) -> dt.datetime:
    """The edit's time; ValueError, fit for the caller, if it cannot be read."""
    return parse_event_timestamp(edit.timestamp)
