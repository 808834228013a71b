"""What happens to an inbound message once stored: the decision for its sender, then the DM.

Unconnected sender: a verification DM (unless one is already under way). Connected
sender: an acknowledgement DM, a Phase 3 queue row and `processed = true`. A postback (an
ice breaker or a button tap) is answered the same way, but holds no reel or post, so it
never reaches Phase 3. The decision is one transaction; running it twice changes nothing.
Echoes of our own DMs, standby messages (another app controls the conversation) and
messages unsent before their processing are recorded and never answered.

The DM the decision created is then sent by the same job (`service.dms.sending`, with its
recovery point), so a message costs one job, not two. The job is the DM's guarantee: a
transient failure raises `RetryLater`, and the job's next run finds the message handled
and goes on with its pending DMs, as does a job rescued from a dead worker.
"""

from __future__ import annotations

import dataclasses
import enum

from service.core import metrics
from service.core.db import Connection
from service.core.runtime import Runtime
from service.dms import sending, texts
from service.store import messages, outbound_messages
from service.store.rows import Message, OutboundMessage


class Outcome(enum.StrEnum):
    MISSING = "missing"
    ALREADY_HANDLED = "already_handled"
    ECHO = "echo"
    STANDBY = "standby"
    UNSENT = "unsent"
    VERIFICATION_QUEUED = "verification_queued"
    VERIFICATION_SUPPRESSED = "verification_suppressed"
    ACKNOWLEDGED = "acknowledged"


@dataclasses.dataclass(frozen=True)
class Processed:
    outcome: Outcome
    # The message's DMs that this run sent (or settled), as their rows ended.
    dms: tuple[OutboundMessage, ...] = ()


async def process_message(rt: Runtime, mid: str) -> Processed:
    """Decide, then send the DMs the message still owes; `RetryLater` while one waits."""
    outcome, owed = await decide(rt, mid)
    sent = []
    for dm in owed:
        row = await sending.send_pending(rt, dm)
        if row is not None:
            sent.append(row)
    return Processed(outcome, tuple(sent))


async def decide(rt: Runtime, mid: str) -> tuple[Outcome, list[OutboundMessage]]:
    """The decision's transaction; returns it with the message's DMs left to send."""
    async with rt.pool.connection() as conn, conn.transaction():
        # Locks the message, and the sender's profile when the message is to be answered,
        # so one sender's messages are decided one at a time and the anti-spam check
        # below sees the previous one.
        claimed = await messages.claim(conn, mid)
        if claimed is None:
            return Outcome.MISSING, []
        message, profile = claimed
        if message.handled_at is not None:
            return Outcome.ALREADY_HANDLED, await outbound_messages.pending_for_message(conn, mid)
        if profile is None:
            # An echo is our own outgoing DM, mirrored back by Meta: answering it would
            # loop. A standby message belongs to the app that controls the conversation.
            # An unsent message is answered by nobody.
            latency = await messages.mark_handled(conn, mid, processed=False)
            metrics.INGEST_LATENCY.observe(latency)
            return _unanswered(message), []
        if profile.connected:
            outcome = Outcome.ACKNOWLEDGED
            latency, dm = await messages.acknowledge(
                conn,
                mid,
                profile=profile,
                text=texts.ACKNOWLEDGEMENT,
                to_phase3=message.source != "postback",
                cooldown_seconds=rt.settings.ack_cooldown_seconds,
            )
        else:
            outcome, dm = await _ask_to_verify(rt, conn, message.id, profile.ig_id)
            latency = await messages.mark_handled(conn, mid, processed=False)
        metrics.INGEST_LATENCY.observe(latency)
        # A replayed message may find its DM of this kind already there, still pending.
        owed = [dm] if dm is not None else await outbound_messages.pending_for_message(conn, mid)
        return outcome, owed


async def _ask_to_verify(
    rt: Runtime, conn: Connection, mid: str, ig_id: str
) -> tuple[Outcome, OutboundMessage | None]:
    if await outbound_messages.recent_verification_exists(
        conn, ig_id, rt.settings.verification_resend_seconds
    ):
        return Outcome.VERIFICATION_SUPPRESSED, None
    text = texts.verification_redacted(verify_url_base=rt.settings.verify_url_base, ig_id=ig_id)
    dm = await outbound_messages.insert(
        conn, recipient_ig_id=ig_id, kind="verification", payload={"text": text}, message_id=mid
    )
    return Outcome.VERIFICATION_QUEUED, dm


def _unanswered(message: Message) -> Outcome:
    if message.deleted_at is not None:
        return Outcome.UNSENT
    return Outcome.ECHO if message.is_echo else Outcome.STANDBY
