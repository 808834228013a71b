"""`ingest worker`: run the procrastinate worker for the app's queues."""

from __future__ import annotations

import prometheus_client
import structlog

from service import jobs
from service.runtime import open_runtime
from service.settings import SERVICE_SETTINGS, Settings
from workers import tasks

log = structlog.get_logger("workers")


async def run(settings: Settings, *, concurrency: int | None = None,
              install_signal_handlers: bool = True) -> None:
    settings.require(*SERVICE_SETTINGS)
    concurrency = concurrency or settings.worker_concurrency
    app = jobs.make_app(settings.database_url)
    tasks.register(app)
    # One connection per job slot, plus LISTEN and the worker's own bookkeeping.
    async with open_runtime(settings, pool_max_size=concurrency + 3, job_app=app) as rt:
        metrics_server = None
        if settings.worker_metrics_port:
            metrics_server, _ = prometheus_client.start_http_server(
                settings.worker_metrics_port, addr=settings.host)
        log.info("worker started", queues=list(jobs.QUEUES), concurrency=concurrency,
                 graph_sandbox=settings.graph_is_sandbox,
                 metrics_port=settings.worker_metrics_port or None)
        try:
            await app.run_worker_async(
                queues=list(jobs.QUEUES), concurrency=concurrency,
                fetch_job_polling_interval=settings.worker_poll_seconds,
                additional_context={"runtime": rt}, shutdown_graceful_timeout=30,
                install_signal_handlers=install_signal_handlers,
            )
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
