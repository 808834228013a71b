"""procrastinate alone: a task that does nothing, and a worker for it started like
`ingest worker` (same settings from the environment, same pool, same worker options).
The end-to-end figure's baseline is how fast these workers drain N such jobs.

`python -m bench.noop_worker` runs the worker until SIGTERM; `defer(url, n)` queues the jobs.
"""

from __future__ import annotations

import procrastinate
import uvloop

from service.core.db import make_pool
from service.core.settings import Settings

QUEUE = "bench_noop"
TASK = "bench_noop"
DEFER_BATCH = 5_000


def make_app(database_url: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=database_url))

    @app.task(name=TASK, queue=QUEUE)
    async def noop() -> None:
        return None

    return app


async def defer(database_url: str, count: int) -> None:
    """Queue `count` no-op jobs with procrastinate's batch defer."""
    app = make_app(database_url)
    async with app.open_async():
        deferrer = app.configure_task(TASK)
        for start in range(0, count, DEFER_BATCH):
            await deferrer.batch_defer_async(*[{}] * min(DEFER_BATCH, count - start))


async def run(settings: Settings) -> None:
    """The worker loop of `workers.main`, minus the service: the same pool (size and
    connection settings), concurrency, polling, heartbeat and shutdown settings."""
    concurrency = settings.worker_concurrency
    app = make_app(settings.database_url)
    pool = make_pool(settings, max_size=settings.worker_pool_size)
    await pool.open(wait=True, timeout=10)
    try:
        async with app.open_async(pool):
            await app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                fetch_job_polling_interval=settings.worker_poll_seconds,
                update_heartbeat_interval=settings.worker_heartbeat_seconds,
                stalled_worker_timeout=settings.worker_stalled_seconds,
                shutdown_graceful_timeout=settings.worker_shutdown_seconds,
            )
    finally:
        await pool.close()


if __name__ == "__main__":
    uvloop.run(run(Settings.from_env()))  # the event loop `ingest worker` runs on
