"""Connecting an Instagram account to a Reeva user: by a verification token from the link in
the verification DM (`POST /api/internal/verify`), or by hand (`ingest connect`).

Connecting is one transaction: the profile is linked, the messages the user sent while
unconnected reach Phase 3, the token (if any) is consumed and the confirmation DM (if
`CONNECTED_DM_TEXT` is set) is recorded and deferred to the worker. The token's row is
locked first, so two calls with one token are serialised and only the first connects.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from service.business_account.accounts import account_of
from service.core import jobs
from service.core.db import Connection
from service.core.errors import Conflict, Gone, NotFound
from service.core.runtime import Runtime
from service.dms.token_mint import hash_token
from service.store import instagram_profiles, messages, outbound_messages
from service.store import verification_tokens as token_store
from service.store.rows import DMKind, InstagramProfile, VerificationToken


@dataclasses.dataclass(frozen=True)
class Connected:
    ig_id: str
    user_id: uuid.UUID
    connected_at: dt.datetime
    released_messages: int
    # Who the account is, as Meta's User Profile API last said (None until it answered:
    # `service.sender_profiles` asks after the user's first message).
    username: str | None = None
    display_name: str | None = None
    profile_pic_url: str | None = None


async def verify(rt: Runtime, *, token: str, ig_id: str, user_id: uuid.UUID) -> Connected:
    """Consume the token for the user; a token the same user consumed answers as before."""
    token_hash = hash_token(token)
    async with rt.pool.connection() as conn, conn.transaction():
        found = await token_store.lock(conn, token_hash)
        if found is None or found[0].ig_id != ig_id:
            raise NotFound("no verification token matches this token and ig_id")
        row, expired = found
        if row.consumed:
            return await _consumed_before(conn, row, user_id)
        if expired:
            raise Gone("this verification link has expired; message us again for a new one")
        connected = await connect_in(rt, conn, ig_id=ig_id, user_id=user_id)
        await token_store.consume(
            conn,
            token_hash=token_hash,
            user_id=user_id,
            released_messages=connected.released_messages,
        )
        return connected


async def connect(rt: Runtime, *, ig_id: str, user_id: uuid.UUID) -> Connected:
    """Connect without a token (`ingest connect`)."""
    async with rt.pool.connection() as conn, conn.transaction():
        return await connect_in(rt, conn, ig_id=ig_id, user_id=user_id)


async def connect_in(rt: Runtime, conn: Connection, *, ig_id: str, user_id: uuid.UUID) -> Connected:
    # The profile's row lock also serialises this with the decision of the user's
    # messages (`service.messages.deciding`), which decides each one as connected or not.
    profile = await instagram_profiles.upsert(conn, ig_id)
    if profile.connected_user_id not in (None, user_id):
        raise Conflict("this Instagram account is already connected to another user")
    profile = await instagram_profiles.connect(conn, ig_id, user_id)
    assert profile.connected_at is not None  # just set
    released = await messages.release(
        conn, ig_id=ig_id, user_id=user_id, window_days=rt.settings.release_window_days
    )
    if rt.settings.connected_dm_text:
        text = rt.settings.connected_dm_text.replace("{count}", str(released))
        dm = await outbound_messages.insert(
            conn,
            recipient_ig_id=ig_id,
            kind=DMKind.CUSTOM,
            payload={"text": text},
            account_ig_id=account_of(rt.settings, profile.account_ig_id),
        )
        assert dm is not None  # without a message_id, an insert has nothing to conflict with
        await jobs.defer_send_outbound(rt.jobs, conn, dm.id)
    return Connected(ig_id, user_id, profile.connected_at, released, *_who(profile))


async def _consumed_before(
    conn: Connection, row: VerificationToken, user_id: uuid.UUID
) -> Connected:
    if row.consumed_by_user_id != user_id:
        raise Conflict("this verification link was already used by another user")
    # A double click: the first answer again, with the connection as it stands.
    profile = await instagram_profiles.upsert(conn, row.ig_id)
    connected_at = profile.connected_at if profile.connected_user_id == user_id else None
    connected_at = connected_at or row.consumed_at
    assert connected_at is not None  # a consumed token has its time
    return Connected(row.ig_id, user_id, connected_at, row.released_messages or 0, *_who(profile))


def _who(profile: InstagramProfile) -> tuple[str | None, str | None, str | None]:
    return profile.username, profile.display_name, profile.profile_pic_url
