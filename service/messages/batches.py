"""Deciding the messages waiting together: a `decide_message` job that finds more of its kind
waiting behind it takes them, decides all their messages in one transaction, and sends
their DMs together (`service.dms.batch_sending`).

The job takes them through procrastinate's own fetch, in its order, marked `doing` by its
worker (`store.procrastinate_jobs.fetch_more`), up to `DECIDE_BATCH_SIZE` messages in all.
They stay the guarantee of their messages while it runs: it finishes them once their DMs
are sent or handed to jobs of their own, and gives them back, due at once, if it fails; a
worker that dies with them leaves them to the rescue of stalled jobs, as any job it ran.
A lone message finds nothing waiting and is decided alone (`deciding.decide_message`), so
it waits for no batch.

The decision is `deciding`'s, for each message, in the order their jobs were queued: the
claim locks the messages in mid order and then their senders' profiles in ig_id order, the
rules run in Python, and one statement records every decision. A sender with several
messages here is decided in order, each decision seeing what the ones before it created
(a verification DM under way, an acknowledgement within the cooldown), as if one at a time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable, Sequence

import psycopg

from service.business_account.accounts import fallback_account
from service.core import jobs, metrics
from service.core.db import Connection
from service.core.runtime import Runtime
from service.dms import batch_sending
from service.messages import deciding, decision
from service.messages.decision import Outcome
from service.sender_profiles import requesting
from service.store import messages, outbound_messages, procrastinate_jobs
from service.store.outbound_messages import SentLately
from service.store.rows import DMKind, MessageClaim, OutboundMessage

SETTLE_RETRY_SECONDS = 10
SETTLE_PAUSE_SECONDS = 0.5


@dataclasses.dataclass(frozen=True)
class Taken:
    """Jobs taken from the line by a running job: their ids and their messages."""

    job_ids: tuple[int, ...]
    mids: tuple[str, ...]


async def take_waiting(rt: Runtime, job_id: int) -> Taken:
    """The `decide_message` jobs waiting behind running job `job_id`, up to
    `DECIDE_BATCH_SIZE` - 1, taken for its worker."""
    more = rt.settings.decide_batch_size - 1
    if more < 1:
        return Taken((), ())
    async with rt.pool.connection() as conn:
        found = await procrastinate_jobs.fetch_more(
            conn, job_id=job_id, queue=jobs.QUEUE_MESSAGES, count=more
        )
    return Taken(tuple(job for job, _ in found), tuple(args["mid"] for _, args in found))


async def decide_with_taken(rt: Runtime, mid: str, taken: Taken) -> deciding.Decided:
    """Decide message `mid` with the taken jobs' messages and send their DMs; finish the
    taken jobs, or give them back if this fails. Returns what happened to `mid`."""
    try:
        together = await decide_together(rt, (mid, *taken.mids))
    except BaseException:
        await _settle(rt, procrastinate_jobs.give_back, taken.job_ids)
        raise
    await _settle(rt, procrastinate_jobs.finish_taken, taken.job_ids)
    metrics.JOBS_SUCCEEDED.labels(jobs.DECIDE_MESSAGE).inc(len(taken.job_ids))
    return together.of(mid)


@dataclasses.dataclass(frozen=True)
class Together:
    outcomes: dict[str, Outcome]
    # The DMs sent or settled, as their rows ended.
    dms: tuple[OutboundMessage, ...]

    def of(self, mid: str) -> deciding.Decided:
        mine = tuple(dm for dm in self.dms if dm.message_id == mid)
        return deciding.Decided(self.outcomes[mid], mine)


async def decide_together(rt: Runtime, mids: Sequence[str]) -> Together:
    """Decide the messages in one transaction, then send the DMs they owe together, then
    ask for their senders' profiles where due."""
    mids = list(dict.fromkeys(mids))
    outcomes, owed = await _decide(rt, mids)
    sent = await batch_sending.send_all(rt, owed)
    await requesting.request_each_when_due(
        rt, [mid for mid in mids if outcomes[mid] not in deciding.NO_SENDER]
    )
    return Together(outcomes, tuple(sent))


async def _decide(rt: Runtime, mids: list[str]) -> tuple[dict[str, Outcome], list[OutboundMessage]]:
    outcomes = dict.fromkeys(mids, Outcome.MISSING)
    async with rt.pool.connection() as conn, conn.transaction():
        claims = await messages.claim_many(conn, mids, fallback=fallback_account(rt.settings))
        in_order = [claims[mid] for mid in mids if mid in claims]
        lately = await _sent_lately(rt, conn, in_order)
        to_record = []
        for claim in in_order:
            facts = deciding.claimed_facts(claim)
            if claim.sender_ig_id in lately and deciding.needs_lately(rt.settings, facts):
                facts = deciding.with_lately(facts, lately[claim.sender_ig_id])
            decided = decision.decide(facts)
            outcomes[claim.id] = decided.outcome
            if decided.outcome is Outcome.ALREADY_DECIDED:
                continue
            text = deciding.dm_text(rt, decided.dm, claim.sender_ig_id)
            to_record.append(messages.Decided(claim, decided.dm, text, decided.to_phase3))
            if claim.sender_ig_id in lately:
                lately[claim.sender_ig_id] = _after(lately[claim.sender_ig_id], decided.dm)
        recorded = await messages.record_decisions(conn, to_record)
        owed = []
        for one in recorded.values():
            metrics.INGEST_LATENCY.observe(one.latency_seconds)
            if one.dm is not None:
                owed.append(one.dm)
        # As `deciding.decide`: a replayed message may find its DM already there, pending.
        again = [
            mid
            for mid in mids
            if outcomes[mid] not in decision.OWES_NO_DM
            and (mid not in recorded or recorded[mid].dm is None)
        ]
        if again:
            owed += await outbound_messages.pending_for_messages(conn, again)
    return outcomes, owed


async def _sent_lately(
    rt: Runtime, conn: Connection, claims: list[MessageClaim]
) -> dict[str, SentLately]:
    """What went lately to each sender whose first message here the rules need it for."""
    s = rt.settings
    senders = list(
        dict.fromkeys(
            claim.sender_ig_id
            for claim in claims
            if deciding.needs_lately(s, deciding.claimed_facts(claim))
        )
    )
    if not senders:
        return {}
    return await outbound_messages.sent_lately_to_each(
        conn,
        senders,
        cooldown_seconds=s.ack_cooldown_seconds,
        verification_resend_seconds=s.verification_resend_seconds,
    )


def _after(lately: SentLately, dm: DMKind | None) -> SentLately:
    """What went to the sender lately, once this decision's DM is made."""
    if dm is DMKind.VERIFICATION:
        return dataclasses.replace(lately, verification_under_way=True)
    if dm is DMKind.ACKNOWLEDGEMENT:
        return dataclasses.replace(lately, acknowledged_recently=True)
    return lately


async def _settle(
    rt: Runtime,
    settle: Callable[[Connection, Sequence[int]], Awaitable[None]],
    job_ids: Sequence[int],
) -> None:
    """Finish or give back the taken jobs, waiting out a short database outage: jobs left
    `doing` by a live worker would wait for its restart."""
    give_up = time.monotonic() + SETTLE_RETRY_SECONDS
    while True:
        try:
            async with rt.pool.connection() as conn:
                await settle(conn, job_ids)
            return
        except psycopg.OperationalError:
            if time.monotonic() > give_up:
                raise
            await asyncio.sleep(SETTLE_PAUSE_SECONDS)
