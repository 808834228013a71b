"""DMs asked for through the internal API, and the tokens it mints.

`send_dm` goes through the worker like every other DM (recorded and deferred in one
transaction) and waits briefly for the result. `send_verification_dm` is given a
plaintext token, which may never be stored, so no job can carry it: it is sent here,
in the request, with the same retry schedule as the worker's.
"""

from __future__ import annotations

import asyncio
import time

from service.core import backoff, jobs
from service.core.errors import NotFound
from service.core.runtime import Runtime
from service.dms import sending, texts
from service.dms.token_mint import hash_token, mint
from service.store import instagram_profiles, outbound_messages
from service.store import verification_tokens as token_store
from service.store.rows import OutboundMessage, VerificationToken


async def generate_verification(rt: Runtime, *, ig_id: str, event_id: str) -> VerificationToken:
    """Mint a token for the account, or return the event's existing one. Concurrent calls
    for one new event store one token and all answer it (or 404, for another account)."""
    async with rt.pool.connection() as conn, conn.transaction():
        await instagram_profiles.upsert(conn, ig_id)
        token = await token_store.insert_for_event(
            conn,
            token_hash=mint().hash,
            ig_id=ig_id,
            event_id=event_id,
            ttl_seconds=rt.settings.verification_token_ttl_seconds,
        )
        # None: the event has a token, committed before this statement (an insert that
        # races ours waits for it), so this read finds it.
        token = token or await token_store.get_for_event(conn, event_id)
    if token is None or token.ig_id != ig_id:
        raise NotFound(f"event {event_id!r} already has a token for another account")
    return token


async def send_verification_dm(rt: Runtime, *, ig_id: str, token_plain: str) -> OutboundMessage:
    token_hash = hash_token(token_plain)
    async with rt.pool.connection() as conn, conn.transaction():
        if await token_store.get_live(conn, token_hash=token_hash, ig_id=ig_id) is None:
            raise NotFound("no unexpired, unused verification token matches this ig_id")
        text = texts.verification_redacted(verify_url_base=rt.settings.verify_url_base, ig_id=ig_id)
        dm = await outbound_messages.insert(
            conn,
            recipient_ig_id=ig_id,
            kind="verification",
            payload={"text": text, "token_hash": token_hash},
        )
        assert dm is not None  # without a message_id, an insert has nothing to conflict with
    text = texts.verification(
        verify_url_base=rt.settings.verify_url_base, token=token_plain, ig_id=ig_id
    )
    while True:
        try:
            # None: another attempt holds the row now; answer with it as pending (202), as
            # `send_dm` does for a DM still under way, not with a 500.
            return await sending.call_and_record(rt, dm, text) or dm
        except jobs.RetryLater as exc:
            await asyncio.sleep(exc.delay_seconds)
            async with rt.pool.connection() as conn:
                dm = await outbound_messages.get(conn, dm.id) or dm


async def send_dm(rt: Runtime, *, ig_id: str, text: str, kind: str) -> OutboundMessage:
    """Record and defer the DM, then wait up to `send_dm_wait_seconds` for its outcome."""
    async with rt.pool.connection() as conn, conn.transaction():
        dm = await outbound_messages.insert(
            conn, recipient_ig_id=ig_id, kind=kind, payload={"text": text}
        )
        assert dm is not None  # without a message_id, an insert has nothing to conflict with
        await jobs.defer_send_outbound(rt.jobs, conn, dm.id)
    return await wait_for_outcome(rt, dm, rt.settings.send_dm_wait_seconds)


async def wait_for_outcome(rt: Runtime, dm: OutboundMessage, seconds: float) -> OutboundMessage:
    deadline = time.monotonic() + seconds
    pauses = backoff.waits(base=0.01, cap=0.2)
    while dm.status == "pending" and time.monotonic() < deadline:
        await asyncio.sleep(next(pauses))
        async with rt.pool.connection() as conn:
            dm = await outbound_messages.get(conn, dm.id) or dm
    return dm
