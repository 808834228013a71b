"""The `x-service-token` guard of the internal API, compared in constant time."""

from __future__ import annotations

import hmac

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler


def require_service_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    expected = connection.app.state.settings.internal_service_token.encode()
    given = connection.headers.get("x-service-token", "").encode()
    if not given:
        raise NotAuthorizedException("missing x-service-token header")
    if not hmac.compare_digest(given, expected):
        raise NotAuthorizedException("invalid x-service-token")
