"""A DM's attempts in its row: beginning one before the call, recording its outcome after.

Beginning an attempt commits a recovery point (the attempt counted and marked in flight)
before the Graph API call; a verification DM's freshly minted token is stored in the same
transaction, and only if the attempt begins. Recording closes the attempt with its outcome
(`service.dms.outcomes`), waiting out a short database outage, as an outcome lost costs a
resend. The design: docs/reliability.md.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg

from service.business_account.accounts import account_of
from service.core.db import Connection, through_outage
from service.core.jobs import RetryLater
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.dms import token_mint, window
from service.dms.outcomes import Outcome
from service.store import dm_attempts, outbound_messages
from service.store import verification_tokens as token_store
from service.store.rows import DMStatus, OutboundMessage


def attempt_lease_seconds(settings: Settings) -> float:
    # Longer than one call can last: httpx bounds each of pool wait, connect, write and
    # read by the timeout.
    return 4 * settings.graph_timeout_seconds + 1


@dataclasses.dataclass(frozen=True)
class Begun:
    """What beginning an attempt found; `token_refused`: the event's verification token
    could not be stored (used, or another account's), so nothing began."""

    attempt: dm_attempts.Attempt
    token_refused: bool = False


async def begin(
    rt: Runtime,
    dm: OutboundMessage,
    attempt_id: uuid.UUID,
    event_token: token_mint.MintedToken | None,
) -> Begun:
    """Count an attempt and mark it in flight; with `event_token`, store it as the DM's
    event's token in the same transaction."""
    async with rt.pool.connection() as conn:
        if event_token is None:
            # One statement, which autocommit commits.
            return Begun(await _begin_attempt(rt, conn, dm, attempt_id))
        async with conn.transaction() as tx:
            attempt = await _begin_attempt(rt, conn, dm, attempt_id)
            if attempt.began is None:
                return Begun(attempt)
            stored = await token_store.upsert_for_event(
                conn,
                token_hash=event_token.hash,
                ig_id=dm.recipient_ig_id,
                event_id=attempt.began.message_id,
                ttl_seconds=rt.settings.verification_token_ttl_seconds,
            )
            if stored is None:
                raise psycopg.Rollback(tx)  # the attempt is not begun either
            return Begun(attempt)
    return Begun(attempt, token_refused=True)


async def _begin_attempt(
    rt: Runtime, conn: Connection, dm: OutboundMessage, attempt_id: uuid.UUID
) -> dm_attempts.Attempt:
    return await dm_attempts.begin_attempt(conn, begin_params(rt.settings, dm, attempt_id))


def begin_params(s: Settings, dm: OutboundMessage, attempt_id: uuid.UUID) -> dict[str, Any]:
    """The parameters of the statement that begins attempt `attempt_id` of `dm`."""
    return dm_attempts.begin_params(
        dm.id,
        scoped_id=account_of(s, dm.account_ig_id),
        attempt_id=attempt_id,
        lease_seconds=attempt_lease_seconds(s),
        window_seconds=s.messaging_window_seconds,
        window_error=window.closed_error(s),
    )


def outcome_params(
    s: Settings,
    dm: OutboundMessage,
    attempt_id: uuid.UUID,
    outcome: Outcome,
    *,
    payload_patch: dict[str, str],
) -> dict[str, Any]:
    """The parameters of the statement that records `outcome` as attempt `attempt_id`'s."""
    return dm_attempts.record_params(
        dm.id,
        status=outcome.status,
        attempt_id=attempt_id,
        lease_seconds=attempt_lease_seconds(s),
        remote_message_id=outcome.remote_message_id,
        error=outcome.error,
        payload_patch=payload_patch,
        scoped_id=account_of(s, dm.account_ig_id),
        hold_seconds=outcome.retry_seconds if outcome.holds_account else 0.0,
        refund=outcome.refused_token is not None,
    )


async def record(
    rt: Runtime,
    dm: OutboundMessage,
    attempt_id: uuid.UUID,
    outcome: Outcome,
    *,
    payload_patch: dict[str, str],
) -> OutboundMessage | None:
    """Close the attempt with its outcome; None if the row is no longer this attempt's."""
    params = outcome_params(rt.settings, dm, attempt_id, outcome, payload_patch=payload_patch)
    [row] = await record_each(rt, [params])
    return row


async def record_each(
    rt: Runtime, params: Sequence[dict[str, Any]]
) -> list[OutboundMessage | None]:
    """Close attempts with their outcomes (`outcome_params` each), in one statement; each
    row, None for one no longer its attempt's."""

    async def recorded(conn: Connection) -> list[OutboundMessage | None]:
        return await dm_attempts.record_attempts(conn, params)

    # An outcome lost here costs a resend (a duplicate, if sent): a killed connection or a
    # short restart is worth waiting out.
    return await through_outage(rt.pool, recorded)


async def settle_without_call(
    rt: Runtime, dm: OutboundMessage, error: str
) -> OutboundMessage | None:
    """Fail the DM with `error`, no call made; while another attempt may be in flight,
    `RetryLater` (see `in_flight_or_settled`)."""
    async with rt.pool.connection() as conn:
        row = await dm_attempts.record_attempt(conn, failed_params(rt.settings, dm, error))
    return row or await in_flight_or_settled(rt, dm)


def failed_params(s: Settings, dm: OutboundMessage, error: str) -> dict[str, Any]:
    """The parameters of the statement that fails `dm` with `error`, no call made."""
    return dm_attempts.record_params(
        dm.id,
        status=DMStatus.FAILED,
        attempt_id=None,
        lease_seconds=attempt_lease_seconds(s),
        error=error,
    )


async def in_flight_or_settled(rt: Runtime, dm: OutboundMessage) -> OutboundMessage | None:
    """The row when it is settled; RetryLater while another attempt may be in flight."""
    async with rt.pool.connection() as conn:
        row = await outbound_messages.get(conn, dm.id)
    if row is not None and row.status is DMStatus.PENDING:
        raise RetryLater(attempt_lease_seconds(rt.settings), "another attempt is in flight")
    return row


def calls(dm: OutboundMessage) -> int:
    """Calls made since the DM was last queued, the one that counts against the budget."""
    return dm.attempts - dm.retry_base
