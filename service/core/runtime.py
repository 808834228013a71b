"""What a process holds open while it runs: settings, the pool, the job app, and one
keep-alive HTTP client shared by the Graph API client and the webhook forwarder."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

import httpx
import procrastinate

from service.core import jobs
from service.core.db import Pool, make_pool
from service.core.settings import Settings
from service.instagram import GraphClient, TokenSource, build_http_client
from service.operations import access_token


@dataclasses.dataclass(frozen=True)
class Runtime:
    settings: Settings
    pool: Pool
    jobs: procrastinate.App
    graph: GraphClient
    http: httpx.AsyncClient
    # The access token of every Graph API call (the stored one, when there is a key).
    tokens: TokenSource


@contextlib.asynccontextmanager
async def open_runtime(
    settings: Settings,
    *,
    pool_max_size: int | None = None,
    job_app: procrastinate.App | None = None,
) -> AsyncIterator[Runtime]:
    """Open the pool (failing fast if the database is unreachable), the job app on that
    pool, and the process's one keep-alive HTTP client."""
    pool = make_pool(settings, max_size=pool_max_size)
    await pool.open(wait=True, timeout=10)
    app = job_app or jobs.make_app(settings.database_url)
    try:
        async with app.open_async(pool), build_http_client(settings.graph_timeout_seconds) as http:
            # The stored token when TOKEN_ENCRYPTION_KEY is set, seeded from the setting.
            await access_token.seed(settings, pool)
            tokens = access_token.token_source(settings, pool)
            graph = GraphClient(
                http,
                base_url=settings.instagram_api_base_url,
                scoped_id=settings.instagram_scoped_id,
                access_token=tokens,
            )
            yield Runtime(
                settings=settings, pool=pool, jobs=app, graph=graph, http=http, tokens=tokens
            )
    finally:
        await pool.close()
