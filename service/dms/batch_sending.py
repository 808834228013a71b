"""Sending several DMs together: those of messages decided together
(`service.messages.batches`), or of `send_outbound` jobs due together (`workers.taken_jobs`).
First attempts at acknowledgements go per account together: their turns taken under its
pace, their attempts begun, their Graph API calls made at once and their outcomes recorded,
each step one round trip for all of them. Any other DM (a verification DM, whose link's
token is minted right before its call; a DM attempted before) is sent as its own job sends
it (`sending.send_pending`), beside the others.

Each DM keeps `sending`'s guarantees: a recovery point committed before its call (the
attempt counted and marked in flight by `outbound_messages_begin_attempt`, the same
statement), every condition checked again by that statement, its outcome recorded by the
same one as a single send's. A send whose turn under the pace comes within
`pacing.WAIT_IN_PLACE_SECONDS` waits for it beside the jobs (`service.core.background`),
its job done: should the process die, the rescue queues it again once its turn has passed
(`service.dms.orphans`). What must wait longer is handed to a
`send_outbound` job of its own, due when it may go, which takes the send up where its row
says (`sending`): a send whose turn is later (its turn given, so it wakes once), one whose
account is held, one that failed and will be retried.
"""

from __future__ import annotations

import asyncio
import datetime
import math
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence

from service.business_account import access_token, pacing
from service.business_account.accounts import account_of
from service.core import background, jobs, metrics
from service.core.jobs import RetryLater
from service.core.runtime import Runtime
from service.dms import attempts, sending
from service.dms.outcomes import Outcome, outcome_of
from service.store import dm_attempts, outbound_messages, send_buckets
from service.store.rows import DMKind, DMStatus, OutboundMessage

# A hand-off's due time is rounded up to this step (at most half of how late a send may come
# for its turn and keep it), so that the DMs waiting about as long share one defer.
HANDOFF_STEP_SECONDS = 0.05

# (DM id, when its job is due, its job's priority: None for the default)
HandOff = list[tuple[uuid.UUID, datetime.datetime, int | None]]


def _in(seconds: float) -> datetime.datetime:
    """The time `seconds` from now: a wait is counted from when it was found, not from the
    hand-off, which comes after the batch's calls."""
    return datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=max(0.0, seconds))


async def send_each(rt: Runtime, outbound_ids: Sequence[uuid.UUID]) -> list[OutboundMessage]:
    """`send_all` for DMs by id (the jobs of `send_outbound` due together)."""
    async with rt.pool.connection() as conn:
        dms = await outbound_messages.get_many(conn, outbound_ids)
    return await send_all(rt, dms)


async def send_all(rt: Runtime, dms: Sequence[OutboundMessage]) -> list[OutboundMessage]:
    """Send the pending DMs; returns the rows of those settled here (sent or failed), and
    hands the rest to jobs of their own."""
    s = rt.settings
    answered = await rt.accounts.answered()
    by_account: dict[str, list[OutboundMessage]] = defaultdict(list)
    alone = []
    for dm in dms:
        if dm.status is not DMStatus.PENDING:
            continue
        account = account_of(s, dm.account_ig_id)
        first_ack = dm.kind is DMKind.ACKNOWLEDGEMENT and dm.sending_attempt_id is None
        if first_ack and account in answered:
            by_account[account].append(dm)
        else:
            alone.append(dm)
    settled = await asyncio.gather(
        *(_send(rt, account, group) for account, group in by_account.items()),
        *(_send_alone(rt, dm) for dm in alone),
    )
    return [row for rows in settled for row in rows]


async def _send_alone(rt: Runtime, dm: OutboundMessage) -> list[OutboundMessage]:
    """As the DM's own job sends it; a longer wait hands it to a job of its own."""
    try:
        row = await sending.send_pending(rt, dm)
    except RetryLater as wait:
        await _hand_off(rt, [(dm.id, _in(wait.delay_seconds), wait.priority)])
        return []
    return [] if row is None else [row]


async def _send(rt: Runtime, account: str, dms: list[OutboundMessage]) -> list[OutboundMessage]:
    """One account's DMs: their turns, attempts, calls and outcomes. Those whose turns come
    within `pacing.WAIT_IN_PLACE_SECONDS` wait for them beside the jobs (`_wait_turns`), so
    that this job's slot is free for the next."""
    waiting = _Waiting()
    settled = await _round(rt, account, dms, waiting)
    if waiting:
        background.start(_wait_turns(rt, account, waiting), what=f"turns of {account}")
    return settled


async def _wait_turns(rt: Runtime, account: str, waiting: _Waiting) -> None:
    """The waiting DMs at their turns, in groups of turns close together, each group
    taken again, begun, called and recorded as one."""
    while dms := await waiting.next_turns():
        await _round(rt, account, dms, waiting)


async def _round(
    rt: Runtime, account: str, dms: list[OutboundMessage], waiting: _Waiting
) -> list[OutboundMessage]:
    # Handed off before any wait: a job due at a turn must be queued before the turn.
    handoff: HandOff = []
    try:
        go = await _take_turns(rt, account, dms, handoff, waiting)
        return await _call(rt, account, go, handoff)
    finally:
        await _hand_off(rt, handoff)


class _Waiting:
    """DMs waiting in place for their turns, by when each comes on the monotonic clock."""

    def __init__(self) -> None:
        self._turns: list[tuple[float, OutboundMessage]] = []
        self._waited: set[uuid.UUID] = set()

    def __bool__(self) -> bool:
        """Whether any DM still waits."""
        return bool(self._turns)

    def __contains__(self, dm_id: object) -> bool:
        """Whether the DM has waited here."""
        return dm_id in self._waited

    def may_wait(self, dm: OutboundMessage, seconds: float) -> bool:
        """Whether the DM waits here for a turn `seconds` away: once, so that one late for
        the turn it waited for (a stalled process) is handed off rather than kept."""
        return seconds <= pacing.WAIT_IN_PLACE_SECONDS and dm.id not in self

    def add(self, dm: OutboundMessage, seconds: float) -> None:
        self._turns.append((time.monotonic() + seconds, dm))
        self._waited.add(dm.id)

    async def next_turns(self) -> list[OutboundMessage]:
        """Wait for the first turn and those within a step after it (a group of sends
        rather than one wake-up each), and take them out; none when none waits."""
        if not self._turns:
            return []
        self._turns.sort(key=lambda turn: turn[0])
        cut = self._turns[0][0] + HANDOFF_STEP_SECONDS
        group = [turn for turn in self._turns if turn[0] <= cut]
        del self._turns[: len(group)]
        await asyncio.sleep(max(0.0, group[-1][0] - time.monotonic()))
        return [dm for _, dm in group]


async def _call(
    rt: Runtime, account: str, dms: list[OutboundMessage], handoff: HandOff
) -> list[OutboundMessage]:
    """Begin, call and record the DMs whose turns have come."""
    calls, settled = await _begin(rt, account, dms, handoff)
    if not calls:
        return settled
    answers = await asyncio.gather(
        *(sending.call_graph(rt, account, dm, dm.payload["text"]) for dm, _, _ in calls)
    )
    s = rt.settings
    outcomes = [
        outcome_of(s, attempts.calls(began), answer)
        for (_, _, began), answer in zip(calls, answers, strict=True)
    ]
    refused = next((o.refused_token for o in outcomes if o.refused_token is not None), None)
    if refused is not None:
        await access_token.mark_invalid(rt.pool, account, refused)
    rows = await _record(rt, calls, outcomes)
    for (dm, _, _), outcome, row in zip(calls, outcomes, rows, strict=True):
        metrics.DMS.labels(dm.kind, metrics.DM_RESULTS[outcome.status], account).inc()
        if outcome.status is DMStatus.PENDING:
            handoff.append((dm.id, _in(outcome.retry_seconds), None))
        elif row is not None:
            settled.append(row)
    return settled


async def _take_turns(
    rt: Runtime,
    account: str,
    dms: list[OutboundMessage],
    handoff: HandOff,
    waiting: _Waiting,
) -> list[OutboundMessage]:
    """The DMs that may go now under the account's pace. The others are given their turns:
    added to `waiting` (at the turn, on the monotonic clock) when it comes within
    `pacing.WAIT_IN_PLACE_SECONDS`, else handed off until then."""
    s = rt.settings
    if s.graph_send_rate <= 0:
        return dms
    async with rt.pool.connection() as conn:
        takes = await send_buckets.take_each(
            conn,
            account,
            [dm.id for dm in dms],
            rate=s.graph_send_rate,
            burst=max(1, s.graph_send_burst),
            need=1 + pacing.verification_reserve(s),
            queue=True,
            late_seconds=pacing.late_seconds(s),
        )
    go = []
    for dm, took in zip(dms, takes, strict=True):
        if took.admitted:
            go.append(dm)
            continue
        if dm.id not in waiting:
            metrics.DMS_PACED.labels(dm.kind, account).inc()
        if waiting.may_wait(dm, took.wait_seconds):
            waiting.add(dm, took.wait_seconds)
        else:
            # Its turn, as the bucket gave it: a job due later than `late_seconds` after it
            # would have lost it.
            handoff.append((dm.id, took.turn_at or _in(took.wait_seconds), None))
    return go


async def _begin(
    rt: Runtime, account: str, dms: list[OutboundMessage], handoff: HandOff
) -> tuple[list[tuple[OutboundMessage, uuid.UUID, OutboundMessage]], list[OutboundMessage]]:
    """Begin each DM's attempt: (DM, attempt id, its row begun) for those to call, and the
    rows failed for a closed window."""
    s = rt.settings
    attempt_ids = [uuid.uuid4() for _ in dms]
    params = [
        attempts.begin_params(s, dm, attempt_id)
        for dm, attempt_id in zip(dms, attempt_ids, strict=True)
    ]
    async with rt.pool.connection() as conn:
        begun = await dm_attempts.begin_attempts(conn, params)
    calls, failed = [], []
    for dm, attempt_id, attempt in zip(dms, attempt_ids, begun, strict=True):
        if attempt.window_closed:
            metrics.DMS.labels(dm.kind, metrics.DM_RESULTS[DMStatus.FAILED], account).inc()
            if attempt.row is not None:
                failed.append(attempt.row)
        elif attempt.hold.token_invalid:
            handoff.append((dm.id, _in(s.token_hold_recheck_seconds), None))
        elif attempt.hold.rate_limit_seconds > 0:
            handoff.append((dm.id, _in(attempt.hold.rate_limit_seconds), None))
        elif attempt.began is not None:
            calls.append((dm, attempt_id, attempt.began))
        # Else it is no longer pending, or another attempt is in flight: not ours to send.
    return calls, failed


async def _record(
    rt: Runtime,
    calls: list[tuple[OutboundMessage, uuid.UUID, OutboundMessage]],
    outcomes: list[Outcome],
) -> list[OutboundMessage | None]:
    """Record the calls' outcomes in one round trip (`attempts.record_each`, which waits
    out a short database outage: an outcome lost costs a resend)."""
    params = [
        attempts.outcome_params(rt.settings, dm, attempt_id, outcome, payload_patch={})
        for (dm, attempt_id, _), outcome in zip(calls, outcomes, strict=True)
    ]
    return await attempts.record_each(rt, params)


async def _hand_off(rt: Runtime, handoff: HandOff) -> None:
    """A `send_outbound` job for each DM handed off, due when it may go; DMs due within one
    step of each other share one defer, due at the step's end. A DM whose job is lost here
    is found by the rescue, which queues again any pending DM that no job will send
    (`service.dms.orphans`)."""
    if not handoff:
        return
    s = rt.settings
    step = HANDOFF_STEP_SECONDS
    if s.graph_send_rate > 0:
        step = min(step, pacing.late_seconds(s) / 2)
    due: dict[tuple[float, int | None], list[uuid.UUID]] = defaultdict(list)
    for dm_id, when, priority in handoff:
        due[math.ceil(when.timestamp() / step) * step, priority].append(dm_id)
    for (stamp, priority), dm_ids in sorted(due.items(), key=lambda item: item[0][0]):
        at = datetime.datetime.fromtimestamp(stamp, datetime.UTC)
        await jobs.defer_send_outbound_each(rt.jobs, dm_ids, at=at, priority=priority)
