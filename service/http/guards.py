"""The guards of the public listener, each comparing its secret in constant time: the
`x-service-token` of the internal API, and the bearer token of `/metrics`."""

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


async def require_metrics_token(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """`Authorization: Bearer $METRICS_TOKEN`, as Prometheus sends it (its `authorization`
    scrape setting). The route exists only while METRICS_TOKEN is set."""
    expected = connection.app.state.settings.metrics_token.encode()
    scheme, _space, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise NotAuthorizedException("missing Authorization: Bearer header")
    if not hmac.compare_digest(given.strip().encode(), expected):
        raise NotAuthorizedException("invalid metrics token")
