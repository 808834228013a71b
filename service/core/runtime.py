"""What a process holds open while it runs: settings, the pool, the job app, and one
keep-alive HTTP client shared by the Graph API client and the webhook forwarder.

`service.business_account.runtime.open_runtime` opens it: the Graph API client needs the
business account's access token, which `core` knows nothing of."""

from __future__ import annotations

import dataclasses

import httpx
import procrastinate

from service.core.db import Pool
from service.core.settings import Settings
from service.instagram import GraphClient, TokenSource


@dataclasses.dataclass(frozen=True)
class Runtime:
    settings: Settings
    pool: Pool
    jobs: procrastinate.App
    graph: GraphClient
    http: httpx.AsyncClient
    # The access token of every Graph API call (the stored one, when there is a key).
    tokens: TokenSource
