"""A DM's attempts in `outbound_messages`: beginning one (the recovery point before the
Graph API call) and recording its outcome, for one DM or several sent together."""

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

_BEGIN_ATTEMPT = query("outbound_messages_begin_attempt", returns=OutboundMessage)
_RECORD_ATTEMPT = query("outbound_messages_record_attempt", returns=OutboundMessage)


@dataclasses.dataclass(frozen=True)
class Hold:
    """What keeps an account's sends waiting: a rate limit's seconds left (0: none), and
    an access token the Graph API refused (until another one is stored)."""

    rate_limit_seconds: float
    token_invalid: bool


@dataclasses.dataclass(frozen=True)
class Attempt:
    """What `begin_attempt` found: the account's hold, and the DM's row when the attempt
    began (`began`) or when the DM was failed for its recipient's closed window
    (`window_closed`); no row when held, not pending, or an earlier attempt may still be in
    flight."""

    hold: Hold
    row: OutboundMessage | None
    window_closed: bool

    @property
    def began(self) -> OutboundMessage | None:
        return None if self.window_closed else self.row


def begin_params(
    outbound_id: uuid.UUID,
    *,
    scoped_id: str,
    attempt_id: uuid.UUID,
    lease_seconds: float,
    window_seconds: float,
    window_error: str,
) -> dict[str, Any]:
    """The parameters of `begin_attempt`, for `begin_attempts`."""
    return {
        "id": outbound_id,
        "scoped_id": scoped_id,
        "attempt_id": attempt_id,
        "lease_seconds": lease_seconds,
        "window_seconds": window_seconds,
        "window_error": window_error,
    }


async def begin_attempt(conn: Connection, params: dict[str, Any]) -> Attempt:
    """Count an attempt and mark it in flight, unless the account `scoped_id` is held by a
    rate limit or an invalid access token; or fail the DM with `window_error` if its
    recipient's messaging window (`window_seconds`) has closed, whatever holds the account.
    Commit before the call. `params`: `begin_params`."""
    return _attempt(await fetch_row(conn, _BEGIN_ATTEMPT, params))


async def begin_attempts(conn: Connection, params: Sequence[dict[str, Any]]) -> list[Attempt]:
    """`begin_attempt` for several DMs (`begin_params` each), sent together, in order."""
    return [_attempt(row) for row in await fetch_each(conn, _BEGIN_ATTEMPT, params) if row]


def _attempt(row: DictRow) -> Attempt:
    return Attempt(
        hold=Hold(rate_limit_seconds=row["hold_seconds"], token_invalid=row["token_invalid"]),
        row=None if row["id"] is None else from_row(OutboundMessage, row),
        window_closed=row["window_closed"],
    )


def record_params(
    outbound_id: uuid.UUID,
    *,
    status: str,
    attempt_id: uuid.UUID | None,
    lease_seconds: float,
    remote_message_id: str | None = None,
    error: str | None = None,
    payload_patch: dict[str, Any] | None = None,
    scoped_id: str | None = None,
    hold_seconds: float = 0.0,
    refund: bool = False,
) -> dict[str, Any]:
    """The parameters of `record_attempt`, for `record_attempts`."""
    return {
        "id": outbound_id,
        "attempt_id": attempt_id,
        "lease_seconds": lease_seconds,
        "status": status,
        "remote_message_id": remote_message_id,
        "error": error,
        "payload_patch": Jsonb(payload_patch or {}),
        "scoped_id": scoped_id,
        "hold_seconds": hold_seconds,
        "refund": refund,
    }


async def record_attempt(conn: Connection, params: dict[str, Any]) -> OutboundMessage | None:
    """Record a send's outcome and close its attempt; None if no longer pending or no
    longer this attempt's (`attempt_id` None: decided without a call, refused while an
    attempt younger than `lease_seconds` is marked). `hold_seconds` > 0 (a rate limit)
    also holds every send of the account `scoped_id` that long, in the same statement.
    `refund`: this call does not count against the DM's retry budget. `params`:
    `record_params`."""
    row = await fetch_one(conn, _RECORD_ATTEMPT, params)
    return None if row is None else from_row(OutboundMessage, row)


async def record_attempts(
    conn: Connection, params: Sequence[dict[str, Any]]
) -> list[OutboundMessage | None]:
    """`record_attempt` for several DMs (`record_params` each), sent together, in order."""
    rows = await fetch_each(conn, _RECORD_ATTEMPT, params)
    return [None if row is None else from_row(OutboundMessage, row) for row in rows]
