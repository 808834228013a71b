"""A DM's attempts in `outbound_messages`: beginning one (the recovery point before the
Graph API call) and recording its outcome, for one DM or several in one statement."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from service.core.db import Connection
from service.store.queries import query
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
        "lease_seconds": float(lease_seconds),
        "window_seconds": float(window_seconds),
        "window_error": window_error,
    }


async def begin_attempt(conn: Connection, params: dict[str, Any]) -> Attempt:
    """Count an attempt and mark it in flight, unless the account `scoped_id` is held by a
    rate limit or an invalid access token; or fail the DM with `window_error` if its
    recipient's messaging window (`window_seconds`) has closed, whatever holds the account.
    Commit before the call. `params`: `begin_params`."""
    [attempt] = await begin_attempts(conn, [params])
    return attempt


async def begin_attempts(conn: Connection, params: Sequence[dict[str, Any]]) -> list[Attempt]:
    """`begin_attempt` for several DMs (`begin_params` each), in one statement; in order."""
    if not params:
        return []
    async with conn.cursor() as cur:
        await cur.execute(_BEGIN_ATTEMPT, _arrays(params))
        return [_attempt(row) for row in await cur.fetchall()]


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
        "lease_seconds": float(lease_seconds),
        "status": status,
        "remote_message_id": remote_message_id,
        "error": error,
        "payload_patch": Jsonb(payload_patch or {}),
        "scoped_id": scoped_id,
        "hold_seconds": float(hold_seconds),
        "refund": bool(refund),
    }


async def record_attempt(conn: Connection, params: dict[str, Any]) -> OutboundMessage | None:
    """Record a send's outcome and close its attempt; None if no longer pending or no
    longer this attempt's (`attempt_id` None: decided without a call, refused while an
    attempt younger than `lease_seconds` is marked). `hold_seconds` > 0 (a rate limit)
    also holds every send of the account `scoped_id` that long, in the same statement.
    `refund`: this call does not count against the DM's retry budget. `params`:
    `record_params`."""
    [row] = await record_attempts(conn, [params])
    return row


async def record_attempts(
    conn: Connection, params: Sequence[dict[str, Any]]
) -> list[OutboundMessage | None]:
    """`record_attempt` for several DMs (`record_params` each), in one statement; in order."""
    if not params:
        return []
    async with conn.cursor() as cur:
        await cur.execute(_RECORD_ATTEMPT, _arrays(params))
        recorded = {row["n"]: from_row(OutboundMessage, row) for row in await cur.fetchall()}
    return [recorded.get(n) for n in range(1, len(params) + 1)]


def _arrays(params: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    """One statement's parameters for several runs: each name's values, in order (each
    of one type, as `begin_params` and `record_params` make them: psycopg dumps a list
    of one type only)."""
    return {name: [one[name] for one in params] for name in params[0]}
