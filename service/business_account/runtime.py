"""Opening a process's runtime (`service.core.runtime.Runtime`): the pool, the job app and
the keep-alive HTTP client, and on them the business accounts' access tokens and the Graph
API clients that call with them."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import procrastinate

from service.business_account import accounts
from service.core import jobs
from service.core.db import make_pool
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.instagram import build_http_client


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
            # The environment's account, its token stored when TOKEN_ENCRYPTION_KEY is set.
            await accounts.seed_environment(settings, pool)
            yield Runtime(
                settings=settings,
                pool=pool,
                jobs=app,
                http=http,
                accounts=accounts.AccountClients(settings, pool, http),
            )
    finally:
        await pool.close()
