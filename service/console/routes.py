"""The console's router, mounted by the app factory at /console when CONSOLE_PASSWORD is
set: every page and action behind the session, every POST behind the CSRF check, the
sign-in page and htmx (vendored in the package) outside the session."""

from __future__ import annotations

from importlib import resources
from typing import Any

from litestar import Request, Response, Router, get
from litestar.di import Provide
from litestar.response import Redirect

from service.console.access import DEVICE_SECONDS, SESSION_COOKIE, Sessions, derive_key
from service.console.actions import ActionsController
from service.console.context import Console, is_htmx
from service.console.csrf import csrf_middleware
from service.console.overview import Overview
from service.console.pages import PagesController
from service.console.signin import SignInController, sign_in_gate, sign_in_url
from service.console.signin_limits import SignInLimiter

MAX_FORM_BYTES = 16 * 1024
STATIC = resources.files("service.console") / "static"
HTMX = (STATIC / "htmx.min.js").read_bytes()


@get("/console/static/htmx.min.js", include_in_schema=False, cache=False)
async def htmx_script() -> Response[bytes]:
    return Response(
        HTMX,
        media_type="text/javascript",
        headers={"cache-control": "public, max-age=86400"},
    )


async def require_operator(request: Request) -> Response[Any] | None:
    """Signed out: to the sign-in page (htmx follows `HX-Redirect`), then back here."""
    console: Console = request.app.state.console
    operator = console.sessions.operator(request.cookies.get(SESSION_COOKIE))
    if operator is not None:
        request.state.operator = operator
        return None
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/console"
    if is_htmx(request):
        return Response("", status_code=401, headers={"hx-redirect": sign_in_url(target)})
    return Redirect(sign_in_url(target), status_code=303)


def console_router(password: str) -> tuple[Router, Console]:
    """The router, and the state its handlers share (the app keeps it as `state.console`)."""
    console = Console(
        password=password,
        sessions=Sessions(password),
        devices=Sessions(password, purpose="device", max_age=DEVICE_SECONDS),
        limiter=SignInLimiter(),
        overview=Overview(),
    )
    protected = Router(
        path="/",
        route_handlers=[PagesController, ActionsController],
        before_request=require_operator,
    )
    router = Router(
        path="/",
        route_handlers=[SignInController, htmx_script, protected],
        middleware=[sign_in_gate, csrf_middleware(derive_key(password, "csrf"))],
        dependencies={"console": Provide(lambda: console, sync_to_thread=False)},
        include_in_schema=False,
        # Its forms are a few fields of at most 1000 characters each (`context.field`).
        request_max_body_size=MAX_FORM_BYTES,
    )
    return router, console
