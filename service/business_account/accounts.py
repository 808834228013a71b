"""The Instagram professional accounts the service answers, and the Graph API clients that
speak as each.

An account is keyed by its `user_id`: the webhook's `entry[].id`, the id in the Send API's
path, the key of its token, hold, send bucket and subscription check. The environment's
account (INSTAGRAM_SCOPED_ID + INSTAGRAM_ACCESS_TOKEN) is seeded at each start; others are
added with `ingest account add` (`service.operations.accounts_view`). An environment account
whose id is not set (`me`) answers every message that no other account's id names, as a
deployment of one account always did.
"""

from __future__ import annotations

import httpx

from service.business_account import access_token
from service.core.cached import Cached
from service.core.db import Pool
from service.core.settings import Settings
from service.instagram import GraphClient, TokenSource
from service.store import instagram_accounts


def environment_account(settings: Settings) -> str:
    return settings.instagram_scoped_id


def fallback_account(settings: Settings) -> str | None:
    """The account that answers messages no answered account's id names: the environment's
    when its id is not set (`me`), else none (those messages are never answered)."""
    scoped_id = settings.instagram_scoped_id
    return None if scoped_id.isdigit() else scoped_id


def account_of(settings: Settings, account_ig_id: str | None) -> str:
    """The account of a DM or profile; a row written before there were several accounts
    has none, and belongs to the environment's."""
    return account_ig_id or environment_account(settings)


class AccountClients:
    """Each account's token source and Graph API client, made once per process, and the
    accounts answered (read again at most every TOKEN_CACHE_SECONDS)."""

    def __init__(self, settings: Settings, pool: Pool, http: httpx.AsyncClient) -> None:
        self._settings, self._pool, self._http = settings, pool, http
        self._tokens: dict[str, TokenSource] = {}
        self._graphs: dict[str, GraphClient] = {}
        self._answered: Cached[frozenset[str]] = Cached(seconds=settings.token_cache_seconds)

    def tokens(self, ig_id: str) -> TokenSource:
        if ig_id not in self._tokens:
            self._tokens[ig_id] = access_token.token_source(self._settings, self._pool, ig_id)
        return self._tokens[ig_id]

    def graph(self, ig_id: str) -> GraphClient:
        if ig_id not in self._graphs:
            self._graphs[ig_id] = GraphClient(
                self._http,
                base_url=self._settings.instagram_api_base_url,
                scoped_id=ig_id,
                access_token=self.tokens(ig_id),
            )
        return self._graphs[ig_id]

    async def answered(self) -> frozenset[str]:
        return await self._answered.get(self._read_answered)

    async def _read_answered(self) -> frozenset[str]:
        async with self._pool.connection() as conn:
            return frozenset(await instagram_accounts.active(conn))


async def seed_environment(settings: Settings, pool: Pool) -> None:
    """Record the environment's account (kept as it is when known) and store its token."""
    async with pool.connection() as conn:
        await instagram_accounts.seed_environment(conn, environment_account(settings))
    await access_token.seed(settings, pool)
