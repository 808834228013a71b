"""What happens to an inbound message once stored: the decision for its sender, then the DM.

Unconnected sender: a verification DM (unless one is already under way). Connected
sender: an acknowledgement DM, a Phase 3 queue row and `processed = true`. A postback (an
ice breaker or a button tap) is answered the same way, but holds no reel or post, so it
never reaches Phase 3. The decision is one statement; running it twice changes nothing.
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
from service.core.runtime import Runtime
from service.dms import sending, texts
from service.store import messages
from service.store.rows import OutboundMessage


class Outcome(enum.StrEnum):
    MISSING = "missing"
    ALREADY_HANDLED = "already_handled"
    ECHO = "echo"
    STANDBY = "standby"
    UNSENT = "unsent"
    VERIFICATION_QUEUED = "verification_queued"
    VERIFICATION_SUPPRESSED = "verification_suppressed"
    ACKNOWLEDGED = "acknowledged"


# What the decision answers, without deciding, for an unconnected sender when it was not
# given the verification DM's text.
_UNCONNECTED = "unconnected"


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
    """The decision, one statement (`messages.decide`); returns it with the message's DMs
    left to send. An unconnected sender's verification DM names them, so its text is made
    once the first statement has said who they are, and the second decides again."""
    s = rt.settings
    async with rt.pool.connection() as conn:
        decision = await messages.decide(
            conn,
            mid,
            acknowledgement=texts.ACKNOWLEDGEMENT,
            cooldown_seconds=s.ack_cooldown_seconds,
        )
        if decision.outcome == _UNCONNECTED:
            assert decision.sender_ig_id is not None
            decision = await messages.decide(
                conn,
                mid,
                acknowledgement=texts.ACKNOWLEDGEMENT,
                cooldown_seconds=s.ack_cooldown_seconds,
                verification=texts.verification_redacted(
                    verify_url_base=s.verify_url_base, ig_id=decision.sender_ig_id
                ),
                verification_resend_seconds=s.verification_resend_seconds,
            )
    if decision.latency_seconds is not None:
        metrics.INGEST_LATENCY.observe(decision.latency_seconds)
    return Outcome(decision.outcome), decision.dms
