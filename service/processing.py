"""What happens to an inbound message once stored: the spec's two flows.

Unconnected sender: a verification DM (unless one is already under way). Connected
sender: an acknowledgement DM, a Phase 3 queue row and `processed = true`. Both in one
transaction, with the send jobs deferred inside it; running it twice changes nothing.
Echoes of our own DMs and standby messages (another app controls the conversation) are
recorded and never answered.
"""

from __future__ import annotations

import enum

from service import dm_texts, jobs, metrics
from service.runtime import Runtime
from service.store import messages, outbound, phase3, profiles


class Outcome(enum.StrEnum):
    MISSING = "missing"
    ALREADY_HANDLED = "already_handled"
    ECHO = "echo"
    STANDBY = "standby"
    VERIFICATION_QUEUED = "verification_queued"
    VERIFICATION_SUPPRESSED = "verification_suppressed"
    ACKNOWLEDGED = "acknowledged"


async def process_message(rt: Runtime, mid: str) -> Outcome:
    async with rt.pool.connection() as conn, conn.transaction():
        message = await messages.get_for_update(conn, mid)
        if message is None:
            return Outcome.MISSING
        if message.handled_at is not None:
            return Outcome.ALREADY_HANDLED
        if message.is_echo or message.source == "standby":
            # An echo is our own outgoing DM, mirrored back by Meta: answering it would
            # loop. A standby message belongs to the app that controls the conversation.
            latency = await messages.mark_handled(conn, mid, processed=False)
            metrics.INGEST_LATENCY.observe(latency)
            return Outcome.ECHO if message.is_echo else Outcome.STANDBY
        # The upsert locks the sender's profile row, so one sender's messages are
        # decided one at a time and the anti-spam check below sees the previous one.
        profile = await profiles.upsert(conn, message.sender_ig_id)
        if profile.connected:
            outcome = await _acknowledge(rt, conn, message.id, profile)
        else:
            outcome = await _ask_to_verify(rt, conn, message.id, profile.ig_id)
        latency = await messages.mark_handled(conn, mid,
                                              processed=outcome is Outcome.ACKNOWLEDGED)
        metrics.INGEST_LATENCY.observe(latency)
        return outcome


async def _acknowledge(rt: Runtime, conn, mid: str, profile) -> Outcome:
    dm = await outbound.insert(conn, recipient_ig_id=profile.ig_id, kind="acknowledgement",
                               payload={"text": dm_texts.ACKNOWLEDGEMENT}, message_id=mid)
    if dm is not None:
        await jobs.defer_send_outbound(rt.jobs, conn, dm.id)
    await phase3.enqueue(conn, message_id=mid, ig_id=profile.ig_id,
                         connected_user_id=profile.connected_user_id)
    return Outcome.ACKNOWLEDGED


async def _ask_to_verify(rt: Runtime, conn, mid: str, ig_id: str) -> Outcome:
    if await outbound.recent_verification_exists(
            conn, ig_id, rt.settings.verification_resend_seconds):
        return Outcome.VERIFICATION_SUPPRESSED
    text = dm_texts.verification_redacted(verify_url_base=rt.settings.verify_url_base,
                                          ig_id=ig_id)
    dm = await outbound.insert(conn, recipient_ig_id=ig_id, kind="verification",
                               payload={"text": text}, message_id=mid)
    if dm is not None:
        await jobs.defer_send_outbound(rt.jobs, conn, dm.id)
    return Outcome.VERIFICATION_QUEUED
