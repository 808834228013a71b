"""The Litestar app factory: nothing imports the app; processes build it from settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from litestar import Litestar, Request, Router
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from service.business_account.runtime import open_runtime
from service.core.runtime import Runtime
from service.core.settings import SERVICE_SETTINGS, Settings
from service.http.error_responses import EXCEPTION_HANDLERS
from service.http.guards import require_service_token
from service.http.internal import InternalController
from service.http.media import MediaController
from service.http.metrics_endpoint import PROMETHEUS, MetricsController, status_cache
from service.http.operations import OperationsController, ProbesController
from service.http.outcomes import outcome_middleware
from service.http.request_log import request_log_middleware
from service.http.webhooks import WebhookController
from service.messages.group_commit import IngestGroups

# What a route takes without a limit of its own: the webhook, the internal API and the
# console each set theirs.
MAX_BODY_BYTES = 64 * 1024


def check_settings(settings: Settings) -> None:
    """`SettingsError` naming the first setting the web process cannot run without."""
    settings.require(*SERVICE_SETTINGS)
    settings.check_webhook_signing()


def create_app(
    settings: Settings,
    *,
    development: bool = False,
    extra_handlers: Sequence[ControllerRouterHandler] = (),
) -> Litestar:
    """The app; `development` (only `ingest dev` says so) serves the OpenAPI schema and its
    docs page to anyone, where production asks for the service token. `extra_handlers` are
    what the composition root adds (`ingest dev`'s verification page)."""
    check_settings(settings)

    @contextlib.asynccontextmanager
    async def runtime_lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_runtime(settings) as rt:
            app.state.runtime = rt
            app.state.ingest_groups = IngestGroups(rt)
            yield

    def provide_runtime(request: Request) -> Runtime:
        return request.app.state.runtime

    def provide_ingest_groups(request: Request) -> IngestGroups:
        return request.app.state.ingest_groups

    # Without METRICS_TOKEN there is no /metrics at all (404): nothing to guess a token for.
    metrics = [MetricsController] if settings.metrics_token else []
    # Likewise the console without CONSOLE_PASSWORD.
    state = State({"settings": settings, "status_cache": status_cache(settings)})
    console: list[Router] = []
    if settings.console_password:
        from service.console.routes import console_router

        router, state.console = console_router(settings.console_password)
        console.append(router)
    return Litestar(
        route_handlers=[
            InternalController,
            MediaController,
            WebhookController,
            OperationsController,
            ProbesController,
            *metrics,
            *console,
            *extra_handlers,
        ],
        lifespan=[runtime_lifespan],
        state=state,
        dependencies={
            "rt": Provide(provide_runtime, sync_to_thread=False),
            "groups": Provide(provide_ingest_groups, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[PROMETHEUS.middleware, request_log_middleware, outcome_middleware],
        openapi_config=OpenAPIConfig(
            title="Reeva Instagram ingestion",
            version="1.0.0",
            # The schema maps every endpoint and field: on the public port, it is for callers.
            openapi_router=Router(
                path="/schema",
                route_handlers=[],
                guards=[] if development else [require_service_token],
                include_in_schema=False,
            ),
        ),
        request_max_body_size=MAX_BODY_BYTES,
        # structlog owns logging (service.core.logs); Litestar must not reconfigure it.
        logging_config=None,
    )
