"""Sign-in and sign-out. Signing in asks for the operator's name (kept in the session, and
in the log line of every action) and CONSOLE_PASSWORD; failures are limited per address."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import structlog
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.response import Redirect

from service.console import render
from service.console.access import COOKIE_PATH, SESSION_COOKIE, SESSION_SECONDS, password_matches
from service.console.context import Console, client_address, field

log = structlog.get_logger("console")
MAX_OPERATOR_CHARS = 64
HOME = "/console"


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a console page of this site."""
    if target and target.startswith(HOME) and not target.startswith("//"):
        return target
    return HOME


def sign_in_url(target: str) -> str:
    return f"{HOME}/login?{urlencode({'next': target})}"


def _session_cookie(request: Request, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path=COOKIE_PATH,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


class SignInController(Controller):
    path = HOME
    include_in_schema = False

    @get("/login")
    async def form(self, request: Request) -> Response[str]:
        return render.page(
            request, "login.html", next=safe_next(request.query_params.get("next")), error=None
        )

    @post("/login", status_code=303)
    async def sign_in(self, request: Request, console: NamedDependency[Console]) -> Response[Any]:
        form = await request.form()
        address = client_address(request)
        target = safe_next(field(form, "next"))
        if wait := console.limiter.wait_seconds(address):
            log.warning("console sign-in refused: too many failures", client=address)
            return render.page(
                request,
                "login.html",
                status_code=429,
                next=target,
                error=f"Too many failed sign-ins from your address: try again in {wait:.0f} s.",
            )
        name = " ".join((field(form, "operator") or "").split())[:MAX_OPERATOR_CHARS]
        password = form.get("password") or ""
        if (
            not name
            or not isinstance(password, str)
            or not password_matches(password, console.password)
        ):
            console.limiter.failed(address)
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
        console.limiter.succeeded(address)
        log.info("console sign-in", client=address, operator=name)
        return Redirect(
            target,
            status_code=303,
            cookies=[_session_cookie(request, console.sessions.issue(name), SESSION_SECONDS)],
        )

    @post("/logout", status_code=303)
    async def sign_out(self, request: Request, console: NamedDependency[Console]) -> Redirect:
        who = console.sessions.operator(request.cookies.get(SESSION_COOKIE))
        log.info("console sign-out", client=client_address(request), operator=who)
        return Redirect(f"{HOME}/login", status_code=303, cookies=[_session_cookie(request, "", 0)])
