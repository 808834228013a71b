"""CSRF protection of every console POST: Litestar's own middleware (a token in a cookie,
which each form and htmx request sends back), its cookie Secure when the request came
over https. Litestar sets that attribute once per config, so there are two, chosen by
the request's scheme."""

from __future__ import annotations

from collections.abc import Callable

from litestar.config.csrf import CSRFConfig
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from service.console.access import COOKIE_PATH, CSRF_COOKIE, CSRF_HEADER


def csrf_middleware(secret: str) -> Callable[[ASGIApp], ASGIApp]:
    """A Litestar middleware factory (app -> ASGI app) for the console's router."""

    def configured(secure: bool) -> CSRFConfig:
        return CSRFConfig(
            secret=secret,
            cookie_name=CSRF_COOKIE,
            cookie_path=COOKIE_PATH,
            header_name=CSRF_HEADER,
            cookie_secure=secure,
            cookie_httponly=True,  # the pages carry the token; no script needs the cookie
            cookie_samesite="strict",
        )

    def wrap(app: ASGIApp) -> ASGIApp:
        plain = CSRFMiddleware(app, configured(secure=False))
        secure = CSRFMiddleware(app, configured(secure=True))

        async def by_scheme(scope: Scope, receive: Receive, send: Send) -> None:
            chosen = secure if scope.get("scheme") == "https" else plain
            await chosen(scope, receive, send)

        return by_scheme

    return wrap
