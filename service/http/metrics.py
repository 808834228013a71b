"""GET /metrics: Litestar's Prometheus plugin, this process's own metrics
(`service.core.metrics`), and the status gauges (`service.operations.status_metrics`), which each
scrape refreshes from the database before the page is written.
"""

from __future__ import annotations

import psycopg
import structlog
from litestar import Request
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController
from litestar.types import BeforeRequestHookHandler
from psycopg_pool import PoolTimeout

from service.operations import status
from service.operations.status_metrics import STATUS
from service.operations.thresholds import Thresholds

log = structlog.get_logger("metrics")
# Route templates, not raw paths, so an id in the path makes no new series.
PROMETHEUS = PrometheusConfig(app_name="ingest", prefix="ingest_http", group_path=True)


async def refresh_status(request: Request) -> None:
    try:
        async with request.app.state.runtime.pool.connection(timeout=2.0) as conn:
            STATUS.report = await status.collect(
                conn,
                Thresholds(),
                statement_timeout=request.app.state.settings.status_statement_timeout_seconds,
            )
    except (psycopg.Error, PoolTimeout) as exc:
        # The page still serves this process's own metrics; the gauges say why not more.
        log.warning("status queries failed", error=type(exc).__name__)
        STATUS.report = None


class MetricsController(PrometheusController):
    before_request: BeforeRequestHookHandler | None = refresh_status
