"""What happens to an inbound message once stored: the decision for its sender, then the DM.

The rules are `service.messages.decision`'s; here they meet the store, in one transaction:
lock the message (and its sender's profile, when the message may be answered), read what
went to the sender lately when the rules need it, and record the decision. Running it
twice changes nothing.

The DM the decision created is then sent by the same job (`service.dms.sending`, with its
recovery point), so a message costs one job, not two. The job is the DM's guarantee: a
transient failure raises `RetryLater`, and the job's next run finds the message decided
and goes on with its pending DMs, as does a job rescued from a dead worker.
"""

from __future__ import annotations

import dataclasses

from service.business_account.accounts import fallback_account
from service.core import metrics
from service.core.db import Connection
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.dms import sending, texts
from service.messages import decision
from service.messages.decision import Outcome
from service.sender_profiles import requesting
from service.store import messages, outbound_messages
from service.store.rows import DMKind, MessageClaim, OutboundMessage

# Outcomes whose message has no sender to know: ours (an echo), another app's, none, or
# a message taken back.
NO_SENDER = (Outcome.MISSING, Outcome.ECHO, Outcome.STANDBY, Outcome.UNSENT)


@dataclasses.dataclass(frozen=True)
class Decided:
    outcome: Outcome
    # The message's DMs that this run sent (or settled), as their rows ended.
    dms: tuple[OutboundMessage, ...] = ()


async def decide_message(rt: Runtime, mid: str) -> Decided:
    """Decide, then send the DMs the message still owes; `RetryLater` while one waits.
    Then, the DMs gone, ask for the sender's profile if it is due."""
    outcome, owed = await decide(rt, mid)
    sent = []
    for dm in owed:
        row = await sending.send_pending(rt, dm)
        if row is not None:
            sent.append(row)
    if outcome not in NO_SENDER:
        await requesting.request_when_due(rt, mid)
    return Decided(outcome, tuple(sent))


async def decide(rt: Runtime, mid: str) -> tuple[Outcome, list[OutboundMessage]]:
    """The decision's transaction; returns it with the message's DMs left to send."""
    async with rt.pool.connection() as conn, conn.transaction():
        message = await messages.claim(conn, mid, fallback=fallback_account(rt.settings))
        if message is None:
            return Outcome.MISSING, []
        decided = decision.decide(await _facts(rt, conn, message))
        dm = None
        if decided.outcome is not Outcome.ALREADY_DECIDED:
            recorded = await messages.record_decision(
                conn,
                message,
                dm_kind=decided.dm,
                dm_text=dm_text(rt, decided.dm, message.sender_ig_id),
                to_phase3=decided.to_phase3,
            )
            metrics.INGEST_LATENCY.observe(recorded.latency_seconds)
            dm = recorded.dm
        if dm is not None:
            return decided.outcome, [dm]
        if decided.outcome in decision.OWES_NO_DM:
            return decided.outcome, []
        # A replayed message may find its DM of this kind already there, still pending.
        return decided.outcome, await outbound_messages.pending_for_message(conn, mid)


async def _facts(rt: Runtime, conn: Connection, message: MessageClaim) -> decision.Facts:
    facts = claimed_facts(message)
    if not needs_lately(rt.settings, facts):
        return facts
    s = rt.settings
    lately = await outbound_messages.sent_lately(
        conn,
        message.sender_ig_id,
        cooldown_seconds=s.ack_cooldown_seconds,
        verification_resend_seconds=s.verification_resend_seconds,
    )
    return with_lately(facts, lately)


def claimed_facts(message: MessageClaim) -> decision.Facts:
    """What the claim read, before what went to the sender lately."""
    return decision.Facts(
        decided=message.decided_at is not None,
        unsent=message.deleted_at is not None,
        is_echo=message.is_echo,
        source=message.source,
        processed=message.processed,
        connected=message.connected_user_id is not None,
        account_answered=message.account_ig_id is not None,
    )


def needs_lately(settings: Settings, facts: decision.Facts) -> bool:
    """Whether the rules need what went to the sender lately: only for a message to answer,
    and for a connected sender only with a cooldown (none by default: no round trip)."""
    if decision.unanswered(facts) is not None:
        return False
    return not (facts.connected and settings.ack_cooldown_seconds <= 0)


def with_lately(facts: decision.Facts, lately: outbound_messages.SentLately) -> decision.Facts:
    return dataclasses.replace(
        facts,
        acknowledged_recently=lately.acknowledged_recently,
        verification_under_way=lately.verification_under_way,
    )


def dm_text(rt: Runtime, kind: DMKind | None, ig_id: str) -> str | None:
    """The text a DM of `kind` to `ig_id` is stored with (None for no DM)."""
    if kind is DMKind.ACKNOWLEDGEMENT:
        return texts.ACKNOWLEDGEMENT
    if kind is DMKind.VERIFICATION:
        # The token is minted right before the send: the row keeps the text without it.
        return texts.verification_redacted(verify_url_base=rt.settings.verify_url_base, ig_id=ig_id)
    return None
