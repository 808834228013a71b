"""The `outbound_messages` table: every DM we send, with its attempts and outcome."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from service.core.db import Connection
from service.store.queries import fetch_each, fetch_one, fetch_row, query
from service.store.rows import OutboundMessage, from_row

_INSERT = query("outbound_messages_insert", returns=OutboundMessage)
_GET = query("outbound_messages_get", returns=OutboundMessage)
_GET_MANY = query("outbound_messages_get_many", returns=OutboundMessage)
_GET_PENDING_FOR_MESSAGE = query(
    "outbound_messages_get_pending_for_message", returns=OutboundMessage
)
_GET_PENDING_FOR_MESSAGES = query(
    "outbound_messages_get_pending_for_messages", returns=OutboundMessage
)
_SENT_LATELY = query("outbound_messages_sent_lately")
_REQUEUE_FAILED = query("outbound_messages_requeue_failed", returns=OutboundMessage)
_COUNT_FAILED_LEFT_OUT = query("outbound_messages_count_failed_left_out")
_FAIL_IF_WINDOW_CLOSED = query("outbound_messages_fail_if_window_closed", returns=OutboundMessage)
_FAIL_ORPHANED = query("outbound_messages_fail_orphaned")
_REQUEUE_JOBLESS = query("outbound_messages_requeue_jobless")
_TOKEN_DMED_RECENTLY = query("outbound_messages_token_dmed_recently")


async def insert(
    conn: Connection,
    *,
    recipient_ig_id: str,
    kind: str,
    payload: dict[str, Any],
    account_ig_id: str,
    message_id: str | None = None,
) -> OutboundMessage | None:
    """Record a DM to send from `account_ig_id`; None when the event already has a DM of
    this kind."""
    row = await fetch_one(
        conn,
        _INSERT,
        {
            "recipient_ig_id": recipient_ig_id,
            "kind": kind,
            "payload": Jsonb(payload),
            "message_id": message_id,
            "account_ig_id": account_ig_id,
        },
    )
    return None if row is None else from_row(OutboundMessage, row)


async def get(conn: Connection, outbound_id: uuid.UUID) -> OutboundMessage | None:
    row = await fetch_one(conn, _GET, {"id": outbound_id})
    return None if row is None else from_row(OutboundMessage, row)


async def get_many(conn: Connection, ids: Sequence[uuid.UUID]) -> list[OutboundMessage]:
    """Several DMs' rows, in `ids`' order; an unknown id is left out."""
    cur = await conn.execute(_GET_MANY, {"ids": list(ids)})
    return [from_row(OutboundMessage, row) for row in await cur.fetchall()]


async def pending_for_messages(
    conn: Connection, message_ids: Sequence[str]
) -> list[OutboundMessage]:
    """`pending_for_message` for several messages at once, oldest first."""
    cur = await conn.execute(_GET_PENDING_FOR_MESSAGES, {"message_ids": list(message_ids)})
    return [from_row(OutboundMessage, row) for row in await cur.fetchall()]


async def pending_for_message(conn: Connection, message_id: str) -> list[OutboundMessage]:
    """The message's DMs not yet sent or failed, oldest first."""
    cur = await conn.execute(_GET_PENDING_FOR_MESSAGE, {"message_id": message_id})
    return [from_row(OutboundMessage, row) for row in await cur.fetchall()]


@dataclasses.dataclass(frozen=True)
class SentLately:
    """What went to an account lately, as the decision of their next message reads it."""

    acknowledged_recently: bool
    verification_under_way: bool


async def sent_lately(
    conn: Connection, ig_id: str, *, cooldown_seconds: float, verification_resend_seconds: float
) -> SentLately:
    """Whether `ig_id` was acknowledged within `cooldown_seconds` (never, at 0), and whether
    a verification DM to them is under way (pending, or sent within
    `verification_resend_seconds` with its token still usable)."""
    row = await fetch_row(
        conn,
        _SENT_LATELY,
        {
            "ig_id": ig_id,
            "cooldown_seconds": cooldown_seconds,
            "verification_resend_seconds": verification_resend_seconds,
        },
    )
    return _sent_lately(row)


async def sent_lately_to_each(
    conn: Connection,
    ig_ids: Sequence[str],
    *,
    cooldown_seconds: float,
    verification_resend_seconds: float,
) -> dict[str, SentLately]:
    """`sent_lately` for several accounts, sent together; by ig_id."""
    params = [
        {
            "ig_id": ig_id,
            "cooldown_seconds": cooldown_seconds,
            "verification_resend_seconds": verification_resend_seconds,
        }
        for ig_id in ig_ids
    ]
    rows = await fetch_each(conn, _SENT_LATELY, params)
    return {
        ig_id: _sent_lately(row) for ig_id, row in zip(ig_ids, rows, strict=True) if row is not None
    }


def _sent_lately(row: DictRow) -> SentLately:
    return SentLately(
        acknowledged_recently=row["acknowledged_recently"],
        verification_under_way=row["verification_under_way"],
    )


@dataclasses.dataclass(frozen=True)
class FailedFilter:
    """Which failed DMs `retry-failed` takes: each field optional; a DM whose error starts
    with `unknown_prefix` (its delivery unknown) only with `include_unknown`; none whose
    recipient's messaging window (`window_seconds`) has closed."""

    unknown_prefix: str
    window_seconds: float
    kind: str | None = None
    recipient: str | None = None
    since_seconds: float | None = None
    include_unknown: bool = False
    # The console's: a part of the error, and one DM by id.
    error: str | None = None
    outbound_id: uuid.UUID | None = None
    # The account sending; a DM that names none is `environment`'s.
    account: str | None = None
    environment: str | None = None


async def requeue_failed(
    conn: Connection,
    which: FailedFilter,
    *,
    batch_size: int,
    after: OutboundMessage | None = None,
) -> list[OutboundMessage]:
    """Set up to `batch_size` matching failed DMs, in (created_at, id) order after `after`,
    back to pending with a fresh retry budget; returns them in that order."""
    cur = await conn.execute(
        _REQUEUE_FAILED,
        {
            **dataclasses.asdict(which),
            "batch_size": batch_size,
            "after_created_at": after.created_at if after else None,
            "after_id": after.id if after else None,
        },
    )
    dms = [from_row(OutboundMessage, row) for row in await cur.fetchall()]
    return sorted(dms, key=lambda dm: (dm.created_at, dm.id))


async def count_failed_left_out(conn: Connection, which: FailedFilter) -> tuple[int, int]:
    """How many failed DMs `which` matches but for their unknown delivery, and how many but
    for their recipient's closed window."""
    row = await fetch_row(conn, _COUNT_FAILED_LEFT_OUT, dataclasses.asdict(which))
    return row["unknown"], row["window_closed"]


async def fail_if_window_closed(
    conn: Connection,
    outbound_id: uuid.UUID,
    *,
    window_seconds: float,
    lease_seconds: float,
    error: str,
) -> OutboundMessage | None:
    """Fail the pending DM without a call if its recipient's messaging window has closed;
    the failed row, or None when it may be sent."""
    row = await fetch_one(
        conn,
        _FAIL_IF_WINDOW_CLOSED,
        {
            "id": outbound_id,
            "window_seconds": window_seconds,
            "lease_seconds": lease_seconds,
            "error": error,
        },
    )
    return None if row is None else from_row(OutboundMessage, row)


async def fail_orphaned(
    conn: Connection, *, idle_seconds: float, in_flight_error: str, unsent_error: str
) -> list[uuid.UUID]:
    """Fail pending DMs that no job will finish; returns their ids."""
    cur = await conn.execute(
        _FAIL_ORPHANED,
        {
            "idle_seconds": idle_seconds,
            "in_flight_error": in_flight_error,
            "unsent_error": unsent_error,
        },
    )
    return [row["id"] for row in await cur.fetchall()]


async def requeue_jobless(
    conn: Connection, *, reason: str, batch_size: int, turn_grace_seconds: float
) -> list[uuid.UUID]:
    """Mark with `reason` the pending DMs not begun that no job will send, and whose turn,
    if they were given one, passed `turn_grace_seconds` ago, for the caller to defer their
    jobs in the same transaction; returns their ids."""
    params = {
        "reason": reason,
        "batch_size": batch_size,
        "turn_grace_seconds": turn_grace_seconds,
    }
    cur = await conn.execute(_REQUEUE_JOBLESS, params)
    return [row["id"] for row in await cur.fetchall()]


async def token_dmed_recently(
    conn: Connection, *, ig_id: str, token_hash: str, window_seconds: int
) -> bool:
    """Whether a DM of this token to the account is pending, or was sent, that recently."""
    row = await fetch_row(
        conn,
        _TOKEN_DMED_RECENTLY,
        {"ig_id": ig_id, "token_hash": token_hash, "window_seconds": window_seconds},
    )
    return bool(row["recent"])
