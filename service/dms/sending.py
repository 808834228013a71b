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

Each DM is sent as its account (`outbound_messages.account_ig_id`, the one its recipient
wrote to; none: the environment's), with that account's token to its path; a DM of an
account no longer answered (`ingest account remove`) fails without a call.

Rate limits hold the whole account: a rate-limit answer records a hold in
`graph_rate_limits` (the Retry-After, else this retry's backoff), and every send of that
account waits it out without calling and without spending an attempt. An access token
refused with code 190 holds them the same way, with no end time: until another token is
stored (`ingest token set` or a refresh, `service.business_account.access_token`); each held send
looks again every `token_hold_recheck_seconds`.

A DM to a user whose messaging window has closed fails at once, without a call
(`service.dms.window`), whatever holds the account: the statement that begins the attempt
fails it, and with pacing on a check before the send's turn does, so that it need not wait.

Pacing: before its call, each send takes its turn under the account's pace
(`service.business_account.pacing`), without calling and without spending an attempt while it waits.

One attempt is three steps: `outcomes.outcome_of` turns the Graph API's answer or error
into one `Outcome`, `attempts.record` records it, and `_next` decides what follows.

Interrupted sends: the Graph API has no idempotency key, so each call first commits a
recovery point (the attempt counted and marked in flight); a rescued job that finds the mark
knows the call was cut off, so a crash duplicates a DM at most once. The design, with the
attempt lease, `INTERRUPTED` and `ORPHANED`: docs/reliability.md.
"""

from __future__ import annotations

import uuid

from service.business_account import access_token, pacing
from service.business_account.accounts import account_of
from service.core import metrics
from service.core.jobs import RetryLater
from service.core.runtime import Runtime
from service.dms import attempts, texts, token_mint, window
from service.dms.attempts import attempt_lease_seconds
from service.dms.outcomes import Outcome, outcome_of
from service.instagram import GraphError, SendResult
from service.store import dm_attempts, outbound_messages
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
TOKEN_HELD = (
    "the access token was refused (Graph API code 190): the account's sends wait for a "
    "new one (`ingest token set`, or a refresh)"
)
TOKEN_UNUSABLE = "the event's verification token was already used, or is another account's"
ACCOUNT_REMOVED = (
    "the Instagram account it is sent from is not answered (`ingest account remove`, or "
    "never added): not sent"
)


class TokenHeld(RetryLater):
    """The account's sends are held by a refused access token: a job waits and looks
    again; a caller that sends in-line cannot wait that long (`service.dms.asks`)."""


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
    if dm.sending_attempt_id is not None and attempts.calls(dm) > rt.settings.send_max_retries:
        return await attempts.settle_without_call(rt, dm, INTERRUPTED)
    text, token = dm.payload["text"], None
    if dm.kind is DMKind.VERIFICATION and dm.message_id is not None:
        # Minted here, stored only by the statement that begins the call (`attempts.begin`):
        # a runner that may not call changes nothing, so the link of a DM already in flight
        # keeps naming a stored token.
        token = token_mint.mint()
        text = texts.verification(
            verify_url_base=rt.settings.verify_url_base,
            token=token.plaintext,
            ig_id=dm.recipient_ig_id,
        )
    return await call_and_record(rt, dm, text, event_token=token)


async def fail_held(rt: Runtime, dm: OutboundMessage) -> OutboundMessage | None:
    """Fail a DM that a refused token holds, for a sender that cannot wait for a new one."""
    return await attempts.settle_without_call(rt, dm, TOKEN_HELD)


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
    account = account_of(s, dm.account_ig_id)
    if account not in await rt.accounts.answered():
        return await attempts.settle_without_call(rt, dm, ACCOUNT_REMOVED)
    if s.graph_send_rate > 0:
        # Before its turn: a DM Meta would refuse need not wait for one.
        async with rt.pool.connection() as conn:
            refused = await window.refuse_if_closed(
                conn, s, dm, lease_seconds=attempt_lease_seconds(s)
            )
        if refused is not None:
            return _failed_for_window(dm, account, refused)
        await pacing.take_turn(rt, dm)
    begun = await attempts.begin(rt, dm, attempt_id, event_token)
    if begun.attempt.window_closed:
        return _failed_for_window(dm, account, begun.attempt.row)
    if begun.token_refused:
        return await attempts.settle_without_call(rt, dm, TOKEN_UNUSABLE)
    began = _began_or_held(rt, begun.attempt)
    if began is None:
        return await attempts.in_flight_or_settled(rt, dm)
    outcome = outcome_of(s, attempts.calls(began), await call_graph(rt, account, dm, text))
    if outcome.refused_token is not None:
        await access_token.mark_invalid(rt.pool, account, outcome.refused_token)
    metrics.DMS.labels(dm.kind, metrics.DM_RESULTS[outcome.status], account).inc()
    patch = {} if event_token is None else {"token_hash": event_token.hash}
    row = await attempts.record(rt, dm, attempt_id, outcome, payload_patch=patch)
    return _next(outcome, row)


def _began_or_held(rt: Runtime, attempt: dm_attempts.Attempt) -> OutboundMessage | None:
    """The row of the attempt that began; raises while a hold keeps the account's sends."""
    if attempt.hold.token_invalid:
        raise TokenHeld(rt.settings.token_hold_recheck_seconds, TOKEN_HELD)
    if attempt.hold.rate_limit_seconds > 0:
        raise RetryLater(
            attempt.hold.rate_limit_seconds, "the account is over a Graph API rate limit"
        )
    return attempt.began


async def call_graph(
    rt: Runtime, account: str, dm: OutboundMessage, text: str
) -> SendResult | GraphError:
    """The Graph API's answer, sent as `account`, or the error it came to."""
    try:
        with metrics.GRAPH_LATENCY.time():
            return await rt.accounts.graph(account).send_text(dm.recipient_ig_id, text)
    except GraphError as exc:
        return exc


def _next(outcome: Outcome, row: OutboundMessage | None) -> OutboundMessage | None:
    """The recorded row when the DM is settled; else the wait before its next call."""
    if outcome.status is not DMStatus.PENDING:
        return row
    waiting = TokenHeld if outcome.refused_token is not None else RetryLater
    raise waiting(outcome.retry_seconds, outcome.error or "")


def _failed_for_window(
    dm: OutboundMessage, account: str, row: OutboundMessage | None
) -> OutboundMessage | None:
    metrics.DMS.labels(dm.kind, metrics.DM_RESULTS[DMStatus.FAILED], account).inc()
    return row
