"""Opening a process's runtime (`service.core.runtime.Runtime`): the pool, the job app and
the keep-alive HTTP client, and on them the business account's access token and the Graph
API client that calls with it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import procrastinate

from service.business_account import access_token
from service.core import jobs
from service.core.db import make_pool
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.instagram import GraphClient, build_http_client


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
