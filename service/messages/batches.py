"""Deciding several messages together: the messages of a `decide_message` job and of those
it found waiting behind it (`workers.taken_jobs`), decided in one transaction, their DMs
then sent together (`service.dms.batch_sending`). A lone message is decided alone
(`deciding.decide_message`), so it waits for no batch.

The decision is `deciding`'s, for each message, in the order their jobs were queued: the
claim locks the messages in mid order and then their senders' profiles in ig_id order, the
rules run in Python, and one statement records every decision. A sender with several
messages here is decided in order, each decision seeing what the ones before it created
(a verification DM under way, an acknowledgement within the cooldown), as if one at a time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from service.business_account.accounts import fallback_account
from service.core import metrics
from service.core.db import Connection
from service.core.runtime import Runtime
from service.dms import batch_sending
from service.messages import deciding, decision
from service.messages.decision import Outcome
from service.sender_profiles import requesting
from service.store import messages, outbound_messages
from service.store.outbound_messages import SentLately
from service.store.rows import DMKind, MessageClaim, OutboundMessage


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
        in_order = [
            (claims[mid], deciding.claimed_facts(claims[mid])) for mid in mids if mid in claims
        ]
        lately = await _sent_lately(rt, conn, in_order)
        to_record = []
        for claim, facts in in_order:
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
    rt: Runtime, conn: Connection, in_order: list[tuple[MessageClaim, decision.Facts]]
) -> dict[str, SentLately]:
    """What went lately to each sender whose messages here the rules need it for."""
    s = rt.settings
    needed = (claim.sender_ig_id for claim, facts in in_order if deciding.needs_lately(s, facts))
    senders = list(dict.fromkeys(needed))
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
