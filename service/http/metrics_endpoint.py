"""GET /metrics: Litestar's Prometheus plugin, this process's own metrics
(`service.core.metrics`), and the status gauges (`service.operations.status_metrics`).

The web port is public (Meta must reach the webhook), so the page is served only to a scraper
that sends `Authorization: Bearer $METRICS_TOKEN`, and not at all (404) while METRICS_TOKEN is
unset. The gauges come from the status queries, run at most once per METRICS_CACHE_SECONDS in
this process whatever the scrape rate: concurrent scrapes share one run.
"""

from __future__ import annotations

from typing import Any

import psycopg
import structlog
from litestar import Request, Response, get
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import BeforeRequestHookHandler
from prometheus_client import CONTENT_TYPE_LATEST
from psycopg_pool import PoolTimeout

from service.core.cached import Cached
from service.core.settings import Settings
from service.http.guards import require_metrics_token
from service.http.refusals import refusals
from service.operations import status
from service.operations.status_metrics import STATUS
from service.operations.thresholds import Thresholds

log = structlog.get_logger("metrics")
# Route templates, not raw paths, so an id in the path makes no new series.
PROMETHEUS = PrometheusConfig(app_name="ingest", prefix="ingest_http", group_path=True)
# How long a scrape waits for a connection before it shows `ingest_status_up 0`.
_POOL_WAIT_SECONDS = 2.0


def status_cache(settings: Settings) -> Cached[dict[str, Any] | None]:
    """One per app, kept in its state: the status report that its scrapes share."""
    return Cached(seconds=settings.metrics_cache_seconds)


async def refresh_status(request: Request) -> None:
    cache: Cached[dict[str, Any] | None] = request.app.state.status_cache
    STATUS.report = await cache.get(lambda: _read_status(request))


async def _read_status(request: Request) -> dict[str, Any] | None:
    settings: Settings = request.app.state.settings
    try:
        async with request.app.state.runtime.pool.connection(timeout=_POOL_WAIT_SECONDS) as conn:
            return await status.collect(
                conn,
                Thresholds(),
                statement_timeout=settings.status_statement_timeout_seconds,
                webhook_silence_seconds=settings.webhook_silence_seconds,
                messaging_window=settings.messaging_window_seconds,
            )
    except (psycopg.Error, PoolTimeout) as exc:
        # The page still serves this process's own metrics; the gauges say why not more.
        log.warning("status queries failed", error=type(exc).__name__)
        return None


class MetricsController(PrometheusController):
    guards = [require_metrics_token]
    before_request: BeforeRequestHookHandler | None = refresh_status

    # The plugin's handler, as it is, with what it answers documented: its content type
    # (Prometheus's text format, not JSON) and the refusal of a scraper without the token.
    @get(
        media_type=CONTENT_TYPE_LATEST,
        response_description="the metrics, in Prometheus's text exposition format",
        responses=refusals({401: "no Authorization: Bearer header, or not METRICS_TOKEN"}),
    )
    async def get(self) -> Response:
        return await PrometheusController.get.fn(self)
