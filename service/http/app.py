"""The Litestar app factory: nothing imports the app; processes build it from settings."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from litestar import Litestar, Request
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig

from service.http.errors import EXCEPTION_HANDLERS
from service.http.internal import InternalController
from service.http.request_log import request_log_middleware
from service.http.webhooks import WebhookController
from service.runtime import Runtime, open_runtime
from service.settings import Settings

MAX_BODY_BYTES = 4 * 1024 * 1024  # a full Meta batch of 1000 events fits


def create_app(settings: Settings) -> Litestar:
    """The app; `SettingsError` if it could not verify webhook deliveries."""
    settings.check_webhook_signing()

    @contextlib.asynccontextmanager
    async def runtime_lifespan(app: Litestar) -> AsyncIterator[None]:
        async with open_runtime(settings) as rt:
            app.state.runtime = rt
            yield

    def provide_runtime(request: Request) -> Runtime:
        return request.app.state.runtime

    return Litestar(
        route_handlers=[InternalController, WebhookController],
        lifespan=[runtime_lifespan],
        state=State({"settings": settings}),
        dependencies={"rt": Provide(provide_runtime, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[request_log_middleware],
        openapi_config=OpenAPIConfig(title="Reeva Instagram ingestion", version="1.0.0",
                                     path="/schema"),
        request_max_body_size=MAX_BODY_BYTES,
        # structlog owns logging (service.logs); Litestar must not reconfigure it.
        logging_config=None,
    )
