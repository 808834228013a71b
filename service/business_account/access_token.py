"""The access token's lifecycle: stored encrypted in Postgres, seeded from
INSTAGRAM_ACCESS_TOKEN, refreshed before it expires, replaced by `ingest token set`.

Every process reads the current token from the store (`StoredTokenSource`, kept for
TOKEN_CACHE_SECONDS), so a token that one process refreshed or an operator set is used
by all of them without a restart. Without TOKEN_ENCRYPTION_KEY (allowed outside
production) nothing is stored: INSTAGRAM_ACCESS_TOKEN is used as it is.

Meta's long-lived tokens last 60 days and can be refreshed once at least 24 hours old and
not expired; a refresh gives another 60 days (`expires_in`). A seeded or set token's
expiry is not known: it is taken as 60 days from when it was stored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import httpx

from service.core.cached import Cached
from service.core.db import Pool
from service.core.settings import Settings
from service.instagram import (
    CurrentToken,
    GraphError,
    InvalidAccessTokenError,
    StaticToken,
    account_api,
)
from service.instagram.client import TokenSource
from service.instagram.token_cipher import TokenCipher
from service.store import graph_access_tokens as store
from service.store.rows import StoredAccessToken

TOKEN_LIFETIME_SECONDS = 60 * 86400.0
# Meta refreshes only a token at least this old.
MIN_REFRESH_AGE_SECONDS = 86400.0
# The status check fails this close to expiry.
EXPIRY_WARNING_SECONDS = 7 * 86400.0


class NoStoredToken(Exception):
    """TOKEN_ENCRYPTION_KEY is set, yet no token is stored and none is configured."""


class StoredTokenSource:
    """The account's stored token, read again at most every `cache_seconds`."""

    def __init__(self, pool: Pool, cipher: TokenCipher, scoped_id: str, cache_seconds: float):
        self._pool, self._cipher, self._scoped_id = pool, cipher, scoped_id
        self._cached: Cached[CurrentToken] = Cached(seconds=cache_seconds)

    def __repr__(self) -> str:
        return f"StoredTokenSource(scoped_id={self._scoped_id!r})"

    async def current(self) -> CurrentToken:
        return await self._cached.get(self._load)

    async def _load(self) -> CurrentToken:
        async with self._pool.connection() as conn:
            row = await store.get(conn, self._scoped_id)
        if row is None:
            raise NoStoredToken(
                "no access token is stored: set INSTAGRAM_ACCESS_TOKEN or run `ingest token set`"
            )
        return CurrentToken(self._cipher.decrypt(row.token_ciphertext), row.token_digest)


def cipher(settings: Settings) -> TokenCipher | None:
    key = settings.token_encryption_key
    return TokenCipher(key) if key else None


def token_source(settings: Settings, pool: Pool, scoped_id: str) -> TokenSource:
    """The account's token: the stored one, or without a key INSTAGRAM_ACCESS_TOKEN (for
    the environment's account, the only one there can be without a key)."""
    keys = cipher(settings)
    if keys is None:
        return StaticToken(settings.instagram_access_token or "")
    return StoredTokenSource(pool, keys, scoped_id, settings.token_cache_seconds)


async def seed(settings: Settings, pool: Pool) -> bool:
    """Store INSTAGRAM_ACCESS_TOKEN unless that value was seeded before; True if stored."""
    keys, token = cipher(settings), settings.instagram_access_token
    if keys is None or not token:
        return False
    async with pool.connection() as conn:
        return await store.seed(
            conn,
            scoped_id=settings.instagram_scoped_id,
            ciphertext=keys.encrypt(token),
            digest=keys.digest(token),
            lifetime_seconds=TOKEN_LIFETIME_SECONDS,
        )


async def set_token(settings: Settings, pool: Pool, token: str, *, scoped_id: str) -> None:
    """Store a token an operator gave for the account; its held sends resume with it."""
    keys = _require_cipher(settings)
    # The environment's token stays marked as seeded, so a restart does not seed it again.
    seeded = settings.instagram_access_token
    environment = scoped_id == settings.instagram_scoped_id
    async with pool.connection() as conn:
        await store.store_set(
            conn,
            scoped_id=scoped_id,
            ciphertext=keys.encrypt(token),
            digest=keys.digest(token),
            seed_digest=keys.digest(seeded) if seeded and environment else None,
            lifetime_seconds=TOKEN_LIFETIME_SECONDS,
        )


async def get(pool: Pool, scoped_id: str) -> StoredAccessToken | None:
    async with pool.connection() as conn:
        return await store.get(conn, scoped_id)


def refresh_due(settings: Settings, row: StoredAccessToken, now: dt.datetime) -> bool:
    old_enough = (now - row.issued_at).total_seconds() >= MIN_REFRESH_AGE_SECONDS
    left = (row.expires_at - now).total_seconds()
    return old_enough and 0 < left <= settings.token_refresh_days * 86400


@dataclasses.dataclass(frozen=True)
class RefreshOutcome:
    outcome: str  # refreshed, not_due, failed, no_token, replaced
    expires_at: dt.datetime | None = None
    error: str | None = None


async def refresh_if_due(
    settings: Settings,
    pool: Pool,
    http: httpx.AsyncClient,
    *,
    scoped_id: str,
    now: dt.datetime | None = None,
) -> RefreshOutcome:
    """Refresh the account's stored token when it is due (`refresh_due`), and record the
    outcome."""
    keys = cipher(settings)
    row = None if keys is None else await get(pool, scoped_id)
    if keys is None or row is None:
        return RefreshOutcome("no_token")
    now = now or dt.datetime.now(dt.UTC)
    if not refresh_due(settings, row, now):
        return RefreshOutcome("not_due", expires_at=row.expires_at)
    try:
        refreshed = await account_api.refresh_token(
            http, settings.instagram_api_base_url, keys.decrypt(row.token_ciphertext)
        )
    except GraphError as exc:
        error = f"{type(exc).__name__}: {exc}"
        async with pool.connection() as conn:
            await store.refresh_failed(conn, scoped_id=scoped_id, error=error)
            if isinstance(exc, InvalidAccessTokenError):
                await store.mark_invalid(
                    conn, scoped_id=scoped_id, digest=row.token_digest, error=error
                )
        return RefreshOutcome("failed", expires_at=row.expires_at, error=error)
    async with pool.connection() as conn:
        stored = await store.store_refreshed(
            conn,
            scoped_id=scoped_id,
            old_digest=row.token_digest,
            ciphertext=keys.encrypt(refreshed.access_token),
            digest=keys.digest(refreshed.access_token),
            expires_in=refreshed.expires_in,
        )
    if not stored:
        return RefreshOutcome("replaced")  # another token was stored meanwhile
    new = await get(pool, scoped_id)
    return RefreshOutcome("refreshed", expires_at=new.expires_at if new else None)


async def mark_invalid(pool: Pool, scoped_id: str, exc: InvalidAccessTokenError) -> None:
    """Hold every send of the account until another token is stored."""
    if exc.token_digest is None:
        return
    async with pool.connection() as conn:
        await store.mark_invalid(
            conn, scoped_id=scoped_id, digest=exc.token_digest, error=f"{type(exc).__name__}: {exc}"
        )


def _require_cipher(settings: Settings) -> TokenCipher:
    keys = cipher(settings)
    if keys is None:
        from service.core.settings import SettingsError

        raise SettingsError(
            "missing required setting TOKEN_ENCRYPTION_KEY (`ingest token new-key` prints one)"
        )
    return keys
