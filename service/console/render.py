"""The console's HTML: Jinja templates from the package's `templates/` (package data, read
through the package's loader, so a wheel or zip install finds them), escaped by default."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.utils.scope.state import ScopeState

ENVIRONMENT = Environment(
    loader=PackageLoader("service.console", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _when(value: dt.datetime | None) -> str:
    """UTC, to the second: operators compare these with logs, which are in UTC."""
    if value is None:
        return "-"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _duration(seconds: float | None) -> str:
    """`95` -> `1 m 35 s`: the largest unit and, when not zero, the next."""
    if seconds is None:
        return "-"
    rest = int(seconds)
    if rest < 60:
        return f"{rest} s"
    for unit, size, smaller, small_size in (
        ("d", 86400, "h", 3600),
        ("h", 3600, "m", 60),
        ("m", 60, "s", 1),
    ):
        if rest >= size:
            remainder = rest % size // small_size
            return f"{rest // size} {unit}" + (f" {remainder} {smaller}" if remainder else "")
    return f"{rest} s"  # not reached: rest >= 60 here


def _number(value: float) -> str:
    return f"{value:g}"


def query_string(values: dict[str, Any]) -> str:
    """A query string of the values that are set."""
    return urlencode({k: v for k, v in values.items() if v not in (None, "")})


ENVIRONMENT.filters.update(when=_when, duration=_duration, number=_number, query=query_string)


def csrf_token(request: Request) -> str:
    """The token that the CSRF middleware checks on the next POST from this page."""
    token = ScopeState.from_scope(request.scope).csrf_token
    return token if isinstance(token, str) else ""


def page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> Response[str]:
    html = ENVIRONMENT.get_template(template).render(
        csrf_token=csrf_token(request),
        operator=getattr(request.state, "operator", None),
        **context,
    )
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        # Nothing here is for another site to frame, nor for a cache to keep.
        headers={
            "cache-control": "no-store",
            "x-frame-options": "DENY",
            "content-security-policy": (
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                "frame-ancestors 'none'; form-action 'self'"
            ),
            "referrer-policy": "same-origin",
        },
    )
