"""The `x-service-token` guard of the internal API, compared in constant time."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler


async def require_service_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    # Async, so that Litestar calls it on the event loop: a sync guard is run in a thread,
    # a hop that cost more than the whole ingest transaction.
    expected = connection.app.state.settings.internal_service_token.encode()
    given = connection.headers.get("x-service-token", "").encode()
    if not given:
        raise NotAuthorizedException("missing x-service-token header")
    if not hmac.compare_digest(given, expected):
        raise NotAuthorizedException("invalid x-service-token")
