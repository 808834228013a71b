"""Sign-in and sign-out. Signing in asks for the operator's name (kept in the session, and
in the log line of every action) and CONSOLE_PASSWORD; failures are limited
(`signin_limits`), and a held client is answered before its form is read (`sign_in_gate`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Redirect
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from service.console import render
from service.console.access import (
    COOKIE_PATH,
    CSRF_COOKIE,
    DEVICE_COOKIE,
    DEVICE_SECONDS,
    SESSION_COOKIE,
    SESSION_SECONDS,
    password_matches,
)
from service.console.context import Console, client_address, field

log = structlog.get_logger("console")
MAX_OPERATOR_CHARS = 64
HOME = "/console"
LOGIN = f"{HOME}/login"
# The form's fields are a name of 64 characters, the password, a `next` page and the CSRF
# token: a few KiB at most, refused (413) beyond before any of it is parsed.
MAX_FORM_BYTES = 4 * 1024


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console page of this site."""
    if target and target.startswith(HOME) and not target.startswith("//"):
        return target
    return HOME


def sign_in_url(target: str) -> str:
    return f"{LOGIN}?{urlencode({'next': target})}"


def _cookie(
    request: Request, key: str, value: str, max_age: int, path: str = COOKIE_PATH
) -> Cookie:
    return Cookie(
        key=key,
        value=value,
        path=path,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def known_device(request: Request, console: Console) -> str | None:
    """The device cookie, if this browser signed in before (with the current password)."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    return cookie if console.devices.operator(cookie) else None


def _held(request: Request, wait: float) -> Response[str]:
    return render.page(
        request,
        "login.html",
        status_code=429,
        next=HOME,
        error=f"Too many failed sign-ins: try again in {wait:.0f} s.",
    )


def sign_in_gate(app: ASGIApp) -> ASGIApp:
    """A middleware before the CSRF check (which reads the form): a sign-in that the limiter
    holds is answered 429 before anything of its body is read."""

    async def gate(scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") == "POST" and scope["path"] == LOGIN:
            request: Request = Request(scope)
            console: Console = request.app.state.console
            device = known_device(request, console)
            if wait := console.limiter.wait_seconds(client_address(request), device):
                log.warning(
                    "console sign-in refused: too many failures", client=client_address(request)
                )
                # The page's form carries the token the CSRF check will compare with the cookie.
                ScopeState.from_scope(scope).csrf_token = request.cookies.get(CSRF_COOKIE, "")
                response = _held(request, wait).to_asgi_response(app=None, request=request)
                await response(scope, receive, send)
                return
        await app(scope, receive, send)

    return gate


class SignInController(Controller):
    path = HOME
    include_in_schema = False

    @get("/login")
    async def form(self, request: Request) -> Response[str]:
        return render.page(
            request, "login.html", next=safe_next(request.query_params.get("next")), error=None
        )

    @post("/login", status_code=303, request_max_body_size=MAX_FORM_BYTES)
    async def sign_in(self, request: Request, console: NamedDependency[Console]) -> Response[Any]:
        form = await request.form()
        address, device = client_address(request), known_device(request, console)
        target = safe_next(field(form, "next"))
        name = " ".join((field(form, "operator") or "").split())[:MAX_OPERATOR_CHARS]
        password = form.get("password") or ""
        if (
            not name
            or not isinstance(password, str)
            or not password_matches(password, console.password)
        ):
            console.limiter.failed(address, device)
            log.warning("console sign-in failed", client=address, operator=name or None)
            return render.page(
                request,
                "login.html",
                status_code=401,
                next=target,
                error="Your name and the console password, please: that was not the password."
                if name
                else "Your name, please: it is kept with what you do here.",
            )
        console.limiter.succeeded(address, device)
        log.info("console sign-in", client=address, operator=name)
        session = _cookie(request, SESSION_COOKIE, console.sessions.issue(name), SESSION_SECONDS)
        mark = console.devices.issue(name)
        return Redirect(
            target,
            status_code=303,
            cookies=[session, _cookie(request, DEVICE_COOKIE, mark, DEVICE_SECONDS, LOGIN)],
        )

    @post("/logout", status_code=303)
    async def sign_out(self, request: Request, console: NamedDependency[Console]) -> Redirect:
        who = console.sessions.operator(request.cookies.get(SESSION_COOKIE))
        log.info("console sign-out", client=client_address(request), operator=who)
        return Redirect(LOGIN, status_code=303, cookies=[_cookie(request, SESSION_COOKIE, "", 0)])
