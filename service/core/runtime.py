"""What a process holds open while it runs: settings, the pool, the job app, and one
keep-alive HTTP client shared by the Graph API client and the webhook forwarder.

`service.business_account.runtime.open_runtime` opens it: the Graph API clients need the
business accounts' access tokens, which `core` knows nothing of."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import httpx
import procrastinate

from service.core.db import Pool
from service.core.settings import Settings
from service.instagram import GraphClient, TokenSource


class AccountClients(Protocol):
    """Each Instagram account's token and Graph API client, by the account's id, and the
    ids of the accounts answered (`service.business_account.accounts`)."""

    def graph(self, ig_id: str) -> GraphClient: ...

    def tokens(self, ig_id: str) -> TokenSource: ...

    async def answered(self) -> frozenset[str]: ...


@dataclasses.dataclass(frozen=True)
class Runtime:
    settings: Settings
    pool: Pool
    jobs: procrastinate.App
    http: httpx.AsyncClient
    accounts: AccountClients
