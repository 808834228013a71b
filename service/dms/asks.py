"""DMs asked for through the internal API, and the tokens it mints.

`send_dm` goes through the worker like every other DM (recorded and deferred in one
transaction) and waits briefly for the result; with an `Idempotency-Key`, a repeated
request answers the first one's DM. Once the DM is recorded, no database error makes its
answer a 5xx: the caller gets the DM's id, `pending`. A verification DM's link carries a
plaintext token, which may never be stored, so no job can carry it: it is sent here, in
the request, with the worker's retry schedule but waiting at most `send_dm_wait_seconds`
in all; a DM it cannot send in that time fails (429 when a rate limit is why).
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import structlog

from service.business_account.accounts import account_of, environment_account
from service.core import backoff, jobs
from service.core.db import Connection
from service.core.errors import Conflict, InvalidRequest, NotFound, RateLimited
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.dms import attempts, idempotency, sending, texts, window
from service.dms.token_mint import hash_token, mint
from service.store import (
    dm_attempts,
    graph_rate_limits,
    idempotency_keys,
    instagram_profiles,
    outbound_messages,
)
from service.store import verification_tokens as token_store
from service.store.rows import DMKind, DMStatus, OutboundMessage, VerificationToken

log = structlog.get_logger("dms")


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
            # Raised in the transaction, so the profile upserted above is rolled back too.
            raise NotFound(f"event {event_id!r} already has a token for another account")
    return token


async def sending_account(
    conn: Connection, settings: Settings, *, ig_id: str, requested: str | None
) -> str:
    """The account a DM to `ig_id` is sent from: the one they wrote to (IGSIDs are scoped
    to one account), which `requested`, if given, must be."""
    profile = await instagram_profiles.get(conn, ig_id)
    wrote_to = None if profile is None else account_of(settings, profile.account_ig_id)
    if requested is None:
        return wrote_to or environment_account(settings)
    if requested != wrote_to:
        raise InvalidRequest(
            f"{ig_id} never wrote to the account {requested}: a DM can only be sent from "
            "the account the recipient wrote to"
        )
    return requested


async def send_verification_dm(
    rt: Runtime, *, ig_id: str, token_plain: str, account_ig_id: str | None = None
) -> OutboundMessage:
    """Send the link of a live token whose plaintext the caller holds."""
    deadline = time.monotonic() + rt.settings.send_dm_wait_seconds
    token_hash = hash_token(token_plain)
    async with rt.pool.connection() as conn, conn.transaction():
        # Locks the token: a second request for it waits, then sees this one's DM.
        if await token_store.get_live(conn, token_hash=token_hash, ig_id=ig_id) is None:
            raise NotFound("no unexpired, unused verification token matches this ig_id")
        account = await sending_account(conn, rt.settings, ig_id=ig_id, requested=account_ig_id)
        await _refuse_resend_or_hold(rt, conn, ig_id=ig_id, token_hash=token_hash, account=account)
        dm = await _record_verification_dm(
            rt, conn, ig_id=ig_id, token_hash=token_hash, account=account
        )
    return await _send_in_request(rt, dm, token_plain, deadline)


async def send_event_verification_dm(
    rt: Runtime, *, ig_id: str, event_id: str, account_ig_id: str | None = None
) -> OutboundMessage:
    """Send the link of the token `generate_verification` made for the event. Only its hash
    is stored, so the token is minted anew here, as the worker does for its own DMs: its
    hash replaces the event's (generate-verification answers it from then on), valid for
    VERIFICATION_TOKEN_TTL_SECONDS from now, and its plaintext goes into the link alone."""
    deadline = time.monotonic() + rt.settings.send_dm_wait_seconds
    token = mint()
    async with rt.pool.connection() as conn, conn.transaction():
        # Locks the token: a second request for the event waits, then sees this one's DM.
        row = await token_store.lock_for_event(conn, event_id)
        if row is None or row.ig_id != ig_id or row.consumed:
            raise NotFound("no unused verification token was generated for this event and ig_id")
        account = await sending_account(conn, rt.settings, ig_id=ig_id, requested=account_ig_id)
        await _refuse_resend_or_hold(
            rt, conn, ig_id=ig_id, token_hash=row.token_hash, account=account
        )
        await token_store.upsert_for_event(
            conn,
            token_hash=token.hash,
            ig_id=ig_id,
            event_id=event_id,
            ttl_seconds=rt.settings.verification_token_ttl_seconds,
        )
        dm = await _record_verification_dm(
            rt, conn, ig_id=ig_id, token_hash=token.hash, account=account
        )
    return await _send_in_request(rt, dm, token.plaintext, deadline)


async def _refuse_resend_or_hold(
    rt: Runtime, conn: Connection, *, ig_id: str, token_hash: str, account: str
) -> None:
    s = rt.settings
    if await outbound_messages.token_dmed_recently(
        conn, ig_id=ig_id, token_hash=token_hash, window_seconds=s.verification_resend_seconds
    ):
        raise Conflict(
            "this token was DMed to the account less than VERIFICATION_RESEND_SECONDS ago"
        )
    hold = await graph_rate_limits.hold_seconds(conn, account)
    if hold > s.send_dm_wait_seconds:
        raise RateLimited(RATE_LIMITED, retry_after_seconds=hold)


async def _record_verification_dm(
    rt: Runtime, conn: Connection, *, ig_id: str, token_hash: str, account: str
) -> OutboundMessage:
    text = texts.verification_redacted(verify_url_base=rt.settings.verify_url_base, ig_id=ig_id)
    dm = await outbound_messages.insert(
        conn,
        recipient_ig_id=ig_id,
        kind=DMKind.VERIFICATION,
        payload={"text": text, "token_hash": token_hash},
        account_ig_id=account,
    )
    assert dm is not None  # without a message_id, an insert has nothing to conflict with
    return dm


async def _send_in_request(
    rt: Runtime, dm: OutboundMessage, token_plain: str, deadline: float
) -> OutboundMessage:
    text = texts.verification(
        verify_url_base=rt.settings.verify_url_base, token=token_plain, ig_id=dm.recipient_ig_id
    )
    while True:
        try:
            # None: another attempt holds the row now; answer with it as pending (202), as
            # `send_dm` does for a DM still under way, not with a 500.
            return await sending.call_and_record(rt, dm, text) or dm
        except sending.TokenHeld:
            # The hold lasts until an operator acts, and no job could send this DM later
            # (the token's plaintext is not stored): fail it now; the caller may ask again.
            return await sending.fail_held(rt, dm) or dm
        except jobs.RetryLater as exc:
            if time.monotonic() + exc.delay_seconds > deadline:
                return await _give_up(rt, dm)
            await asyncio.sleep(exc.delay_seconds)
            async with rt.pool.connection() as conn:
                dm = await outbound_messages.get(conn, dm.id) or dm


RATE_LIMITED = "the Instagram account is over a Graph API rate limit: nothing was sent"
OUT_OF_TIME = (
    "given up: SEND_DM_WAIT_SECONDS ran out, and no job can send a link whose token only the "
    "request knew"
)


async def _give_up(rt: Runtime, dm: OutboundMessage) -> OutboundMessage:
    """Fail a DM that the request has no time left to send: its link's token exists only
    in this request. A rate limit answers 429, so the caller asks again after it."""
    async with rt.pool.connection() as conn:
        dm = await outbound_messages.get(conn, dm.id) or dm
        error = f"{dm.error}; {OUT_OF_TIME}" if dm.error else OUT_OF_TIME
        failed = await dm_attempts.record_attempt(
            conn, attempts.failed_params(rt.settings, dm, error)
        )
        hold = await graph_rate_limits.hold_seconds(conn, account_of(rt.settings, dm.account_ig_id))
    if hold > 0:
        raise RateLimited(RATE_LIMITED, retry_after_seconds=hold)
    return failed or dm


async def send_dm(
    rt: Runtime,
    *,
    ig_id: str,
    text: str,
    kind: str,
    idempotency_key: str | None = None,
    account_ig_id: str | None = None,
) -> OutboundMessage:
    """Record and defer the DM, then wait up to `send_dm_wait_seconds` for its outcome.
    With a key already used for the same request, the DM that request recorded instead."""
    key = None if idempotency_key is None else idempotency.key_hash(idempotency_key)
    # The account named only when asked: a request of before keeps its digest.
    named = {} if account_ig_id is None else {"account_ig_id": account_ig_id}
    fields = idempotency.request_hash(ig_id=ig_id, message_text=text, kind=kind, **named)
    async with rt.pool.connection() as conn:
        account = await sending_account(conn, rt.settings, ig_id=ig_id, requested=account_ig_id)
        dm = await _record(
            rt, conn, ig_id=ig_id, text=text, kind=kind, key=key, fields=fields, account=account
        )
        if dm is None:
            dm = await _recorded_for_key(conn, key or "", fields)
    return await wait_for_outcome(rt, dm, rt.settings.send_dm_wait_seconds)


async def _record(
    rt: Runtime,
    conn: Connection,
    *,
    ig_id: str,
    text: str,
    kind: str,
    key: str | None,
    fields: str,
    account: str,
) -> OutboundMessage | None:
    """The DM, its key and its job in one transaction; None (nothing) if the key is taken.
    A request racing another with the same key waits here for it to commit."""
    async with conn.transaction() as tx:
        dm = await outbound_messages.insert(
            conn, recipient_ig_id=ig_id, kind=kind, payload={"text": text}, account_ig_id=account
        )
        assert dm is not None  # without a message_id, an insert has nothing to conflict with
        if key is not None and not await idempotency_keys.insert(
            conn, key_hash=key, request_hash=fields, outbound_message_id=dm.id
        ):
            raise psycopg.Rollback(tx)
        refused = await window.refuse_if_closed(
            conn, rt.settings, dm, lease_seconds=sending.attempt_lease_seconds(rt.settings)
        )
        if refused is not None:
            return refused  # failed at once, with no job; a key kept names it
        await jobs.defer_send_outbound(rt.jobs, conn, dm.id)
        return dm
    return None


async def _recorded_for_key(conn: Connection, key: str, fields: str) -> OutboundMessage:
    earlier = await idempotency_keys.get(conn, key)
    dm = None if earlier is None else await outbound_messages.get(conn, earlier.outbound_message_id)
    if earlier is None or dm is None:
        # Deleted between the insert and this read: only a key past its retention is.
        raise Conflict(f"this {idempotency.HEADER} has just expired; send again")
    if earlier.request_hash != fields:
        raise Conflict(f"this {idempotency.HEADER} was used with another request body")
    return dm


async def wait_for_outcome(rt: Runtime, dm: OutboundMessage, seconds: float) -> OutboundMessage:
    """The DM once settled, or as it last read when `seconds` ran out or the database
    failed: it is recorded and its job will send it, so the caller hears "pending"."""
    deadline = time.monotonic() + seconds
    pauses = backoff.waits(base=0.01, cap=0.2)
    while dm.status is DMStatus.PENDING and time.monotonic() < deadline:
        await asyncio.sleep(next(pauses))
        try:
            async with rt.pool.connection() as conn:
                dm = await outbound_messages.get(conn, dm.id) or dm
        except psycopg.Error as exc:
            log.warning("send-dm outcome unread", outbound_id=str(dm.id), error=type(exc).__name__)
            break
    return dm
