"""Sending one outbound DM through the Graph API, and recording what happened.

Two kinds of job send: `decide_message` sends the DM its message's processing created
(`send_pending`, on the row it just inserted), and `send_outbound` sends a DM by id (the
API's `send-dm`, `ingest retry-failed`). A job that raises `RetryLater` runs again and
takes the send up where its row says it is.

Retry policy: the first call plus up to `send_max_retries` retries, waiting
1 s, 2 s, 4 s (doubling from `send_backoff_base_seconds`, capped at
`send_backoff_cap_seconds`), or longer when the Graph API asks with `Retry-After`. The
calls are counted from the DM's `retry_base`, so a DM that an operator re-queued gets the
same budget again while `attempts` keeps counting every call. Transient errors raise
`RetryLater`, which the worker turns into a job re-schedule, so a wait never holds a worker
slot. Permanent errors fail at once.

Rate limits hold the whole account: a rate-limit answer records a hold in
`graph_rate_limits` (the Retry-After, else this retry's backoff), and every send of that
account waits it out without calling and without spending an attempt. An access token
refused with code 190 holds them the same way, with no end time: until another token is
stored (`ingest token set` or a refresh, `service.operations.access_token`); each held send
looks again every `token_hold_recheck_seconds`.

A DM to a user whose messaging window has closed fails at once, without a call
(`service.dms.window`), whatever holds the account: the statement that begins the attempt
fails it, and with pacing on a check before the send's turn does, so that it need not wait.

Pacing: before its call, each send takes one from the account's token bucket in Postgres
(`service.store.send_buckets`), which every worker shares: at most `graph_send_rate` a
second, in bursts of `graph_send_burst`. A send that finds it empty is re-scheduled for
when its turn comes, without calling and without spending an attempt. Verification DMs go
first: an acknowledgement leaves `verification_reserve` sends in the bucket for them, and
a waiting verification DM runs again at a higher job priority.

Interrupted sends: the Graph API has no idempotency key, so each call first commits a
recovery point (the attempt counted and marked in flight); a rescued job that finds the mark
knows the call was cut off, so a crash duplicates a DM at most once. The design, with the
attempt lease, `INTERRUPTED` and `ORPHANED`: docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg

from service.core import metrics
from service.core.backoff import backoff_seconds
from service.core.db import Connection
from service.core.jobs import RetryLater
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.dms import texts, token_mint, window
from service.instagram import (
    DeliveredWithError,
    GraphError,
    InvalidAccessTokenError,
    PermanentGraphError,
    RateLimitedError,
    TransientGraphError,
)
from service.operations import access_token
from service.store import outbound_messages, send_buckets
from service.store import verification_tokens as token_store
from service.store.rows import DMKind, DMStatus, OutboundMessage

# How the error of a DM whose delivery is unknown begins: `retry-failed` leaves those out
# unless asked, as a new attempt may send the user a second copy.
UNKNOWN_DELIVERY = "interrupted:"
INTERRUPTED = (
    f"{UNKNOWN_DELIVERY} the worker stopped during the last allowed attempt; "
    "whether Meta delivered it is unknown"
)
ORPHANED = (
    f"{UNKNOWN_DELIVERY} the process sending it stopped and no job is left to finish it; "
    "whether Meta delivered it is unknown"
)
# Longer than any live sender leaves a pending row untouched: a request that sends
# in-line (send-verification-dm) waits at most its retries' backoff between calls.
ORPHANED_AFTER_SECONDS = 600
TOKEN_HELD = (
    "the access token was refused (Graph API code 190): the account's sends wait for a "
    "new one (`ingest token set`, or a refresh)"
)
TOKEN_UNUSABLE = "the event's verification token was already used, or is another account's"
RECORD_RETRY_SECONDS = 10


# The job priority of a verification DM's send waiting its turn: among the jobs due at
# once, procrastinate runs it before the acknowledgements (priority 0).
VERIFICATION_PRIORITY = 10


class Paced(RetryLater):
    """The account's send bucket is empty: the send waits its turn."""


class TokenHeld(RetryLater):
    """The account's sends are held by a refused access token: a job waits and looks
    again; a caller that sends in-line cannot wait that long (`service.dms.asks`)."""


RECORD_PAUSE_SECONDS = 0.5


def retry_delay(settings: Settings, attempt: int, retry_after: float | None) -> float:
    """Wait before retry number `attempt` (1-based)."""
    backoff = backoff_seconds(
        attempt, base=settings.send_backoff_base_seconds, cap=settings.send_backoff_cap_seconds
    )
    return max(backoff, retry_after or 0.0)


def verification_reserve(settings: Settings) -> int:
    """Sends an acknowledgement leaves in the bucket, for the verification DMs."""
    return min(settings.graph_send_burst - 1, max(1, settings.graph_send_burst // 4))


async def take_turn(rt: Runtime, dm: OutboundMessage) -> None:
    """Take the DM's send from the account's bucket; `Paced` when it must wait its turn."""
    s = rt.settings
    if s.graph_send_rate <= 0:
        return
    verification = dm.kind is DMKind.VERIFICATION
    async with rt.pool.connection() as conn:
        took = await send_buckets.take(
            conn,
            s.instagram_scoped_id,
            rate=s.graph_send_rate,
            burst=max(1, s.graph_send_burst),
            need=1 if verification else 1 + verification_reserve(s),
            queue=not verification,
            dm_id=dm.id,
        )
    if not took.admitted:
        metrics.DMS_PACED.labels(dm.kind).inc()
        raise Paced(
            took.wait_seconds,
            "waiting for its turn under GRAPH_SEND_RATE",
            priority=VERIFICATION_PRIORITY if verification else None,
        )


def attempt_lease_seconds(settings: Settings) -> float:
    # Longer than one call can last: httpx bounds each of pool wait, connect, write and
    # read by the timeout.
    return 4 * settings.graph_timeout_seconds + 1


async def send_outbound(rt: Runtime, outbound_id: uuid.UUID) -> OutboundMessage | None:
    """Make one Graph API call for a pending DM; returns its row after, or None if gone."""
    async with rt.pool.connection() as conn:
        dm = await outbound_messages.get(conn, outbound_id)
    return None if dm is None else await send_pending(rt, dm)


async def send_pending(rt: Runtime, dm: OutboundMessage) -> OutboundMessage | None:
    """`send_outbound` for a row already read (the one the processing just created).
    Every condition on the row is checked again by the statement that begins the call."""
    if dm.status is not DMStatus.PENDING:
        return dm
    if dm.sending_attempt_id is not None and _calls(dm) > rt.settings.send_max_retries:
        return await _settle_without_call(rt, dm, INTERRUPTED)
    text, token = dm.payload["text"], None
    if dm.kind is DMKind.VERIFICATION and dm.message_id is not None:
        # Minted here, stored only by the statement that begins the call (`call_and_record`):
        # a runner that may not call changes nothing, so the link of a DM already in flight
        # keeps naming a stored token.
        token = token_mint.mint()
        text = texts.verification(
            verify_url_base=rt.settings.verify_url_base,
            token=token.plaintext,
            ig_id=dm.recipient_ig_id,
        )
    return await call_and_record(rt, dm, text, event_token=token)


async def fail_orphaned(rt: Runtime) -> list[uuid.UUID]:
    """Fail the pending DMs that nothing will finish (see `ORPHANED`); returns their ids."""
    async with rt.pool.connection() as conn:
        return await outbound_messages.fail_orphaned(
            conn, idle_seconds=ORPHANED_AFTER_SECONDS, error=ORPHANED
        )


async def call_and_record(
    rt: Runtime,
    dm: OutboundMessage,
    text: str,
    *,
    event_token: token_mint.MintedToken | None = None,
) -> OutboundMessage | None:
    """Begin an attempt, make the call, record its outcome. `event_token`: the token in
    `text`'s link, stored as the DM's event's token in the transaction that begins the
    attempt, and only if it begins."""
    s, attempt_id = rt.settings, uuid.uuid4()
    token_refused = False
    if s.graph_send_rate > 0:
        # Before its turn: a DM Meta would refuse need not wait for one.
        async with rt.pool.connection() as conn:
            refused = await window.refuse_if_closed(
                conn, s, dm, lease_seconds=attempt_lease_seconds(s)
            )
        if refused is not None:
            return _failed_for_window(dm, refused)
        await take_turn(rt, dm)
    async with rt.pool.connection() as conn:
        if event_token is None:
            # One statement, which autocommit commits.
            attempt = await _begin_attempt(rt, conn, dm, attempt_id)
        else:
            async with conn.transaction() as tx:
                attempt = await _begin_attempt(rt, conn, dm, attempt_id)
                if attempt.began is not None:
                    stored = await token_store.upsert_for_event(
                        conn,
                        token_hash=event_token.hash,
                        ig_id=dm.recipient_ig_id,
                        event_id=attempt.began.message_id,
                        ttl_seconds=s.verification_token_ttl_seconds,
                    )
                    if stored is None:
                        token_refused = True
                        raise psycopg.Rollback(tx)  # the attempt is not begun either
    if attempt.window_closed:
        return _failed_for_window(dm, attempt.row)
    if token_refused:
        return await _settle_without_call(rt, dm, TOKEN_UNUSABLE)
    patch = {} if event_token is None else {"token_hash": event_token.hash}
    hold, began = attempt.hold, attempt.began
    if hold.token_invalid:
        raise TokenHeld(s.token_hold_recheck_seconds, TOKEN_HELD)
    if hold.rate_limit_seconds > 0:
        raise RetryLater(hold.rate_limit_seconds, "the account is over a Graph API rate limit")
    if began is None:
        return await _in_flight_or_settled(rt, dm)
    status, remote_id, error, retry, limited, refund = DMStatus.SENT, None, None, 0.0, False, False
    try:
        with metrics.GRAPH_LATENCY.time():
            result = await rt.graph.send_text(dm.recipient_ig_id, text)
        remote_id = result.message_id
    except DeliveredWithError as exc:
        # Meta says it sent the DM despite the error: resending would duplicate it.
        error = describe(exc)
    except TransientGraphError as exc:
        error = describe(exc)
        retry = retry_delay(s, _calls(began), exc.retry_after)
        limited = isinstance(exc, RateLimitedError)
        status = DMStatus.FAILED if _calls(began) > s.send_max_retries else DMStatus.PENDING
    except InvalidAccessTokenError as exc:
        error = describe(exc)
        if exc.token_digest is None:  # a token that no one can replace without a restart
            status = DMStatus.FAILED
        else:
            # Not this DM's fault: hold the account's sends until a new token is stored,
            # and give this one its attempt back.
            await access_token.mark_invalid(rt.pool, s.instagram_scoped_id, exc)
            status, retry, refund = DMStatus.PENDING, s.token_hold_recheck_seconds, True
    except PermanentGraphError as exc:
        status, error = DMStatus.FAILED, describe(exc)
    metrics.DMS.labels(dm.kind, metrics.DM_RESULTS[status]).inc()
    give_up = time.monotonic() + RECORD_RETRY_SECONDS
    while True:
        try:
            async with rt.pool.connection() as conn:
                row = await outbound_messages.record_attempt(
                    conn,
                    dm.id,
                    status=status,
                    attempt_id=attempt_id,
                    lease_seconds=attempt_lease_seconds(s),
                    remote_message_id=remote_id,
                    error=error,
                    payload_patch=patch,
                    scoped_id=s.instagram_scoped_id,
                    hold_seconds=retry if limited else 0.0,
                    refund=refund,
                )
            break
        except psycopg.OperationalError:
            # An outcome lost here costs a resend (a duplicate, if sent): a killed
            # connection or a short restart is worth waiting out.
            if time.monotonic() > give_up:
                raise
            await asyncio.sleep(RECORD_PAUSE_SECONDS)
    if status is DMStatus.PENDING:
        raise (TokenHeld if refund else RetryLater)(retry, error or "")
    return row


async def _begin_attempt(
    rt: Runtime, conn: Connection, dm: OutboundMessage, attempt_id: uuid.UUID
) -> outbound_messages.Attempt:
    s = rt.settings
    return await outbound_messages.begin_attempt(
        conn,
        dm.id,
        scoped_id=s.instagram_scoped_id,
        attempt_id=attempt_id,
        lease_seconds=attempt_lease_seconds(s),
        window_seconds=s.messaging_window_seconds,
        window_error=window.closed_error(s),
    )


def _failed_for_window(dm: OutboundMessage, row: OutboundMessage | None) -> OutboundMessage | None:
    metrics.DMS.labels(dm.kind, metrics.DM_RESULTS[DMStatus.FAILED]).inc()
    return row


async def fail_held(rt: Runtime, dm: OutboundMessage) -> OutboundMessage | None:
    """Fail a DM that a refused token holds, for a sender that cannot wait for a new one."""
    return await _settle_without_call(rt, dm, TOKEN_HELD)


async def _settle_without_call(
    rt: Runtime, dm: OutboundMessage, error: str
) -> OutboundMessage | None:
    async with rt.pool.connection() as conn:
        row = await outbound_messages.record_attempt(
            conn,
            dm.id,
            status=DMStatus.FAILED,
            attempt_id=None,
            lease_seconds=attempt_lease_seconds(rt.settings),
            error=error,
        )
    return row or await _in_flight_or_settled(rt, dm)


async def _in_flight_or_settled(rt: Runtime, dm: OutboundMessage) -> OutboundMessage | None:
    """The row when it is settled; RetryLater while another attempt may be in flight."""
    async with rt.pool.connection() as conn:
        row = await outbound_messages.get(conn, dm.id)
    if row is not None and row.status is DMStatus.PENDING:
        raise RetryLater(attempt_lease_seconds(rt.settings), "another attempt is in flight")
    return row


def _calls(dm: OutboundMessage) -> int:
    """Calls made since the DM was last queued, the one that counts against the budget."""
    return dm.attempts - dm.retry_base


def describe(exc: GraphError) -> str:
    """The row's `error`: the error's kind and Meta's message with its codes."""
    return f"{type(exc).__name__}: {exc}"
