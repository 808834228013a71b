"""What the console's handlers share in one web process, and the small helpers they use to
read a request: the signed-in operator, the client's address, a form's field, a cursor."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from litestar import Request
from litestar.exceptions import ValidationException

from service.console.access import Sessions
from service.console.failures import KINDS, DMFilter
from service.console.overview import Overview
from service.console.signin_limits import SignInLimiter
from service.operations.thresholds import parse_duration

MAX_FIELD_CHARS = 1000
BIGINT_MAX = 2**63 - 1
KeyT = TypeVar("KeyT")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Console:
    password: str = dataclasses.field(repr=False)
    sessions: Sessions
    devices: Sessions
    limiter: SignInLimiter
    overview: Overview


def operator(request: Request) -> str:
    """The signed-in operator (`routes.require_operator` set it before any page runs)."""
    return str(request.state.operator)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def field(values: Any, name: str) -> str | None:
    """A query parameter or form field, stripped; None when absent or empty."""
    value = values.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_FIELD_CHARS:
        raise ValidationException(f"{name} must be text of at most {MAX_FIELD_CHARS} characters")
    return value.strip() or None


def bigint(raw: str) -> int:
    """The id of a row with a bigint key, in ASCII digits; ValueError for anything else
    (`str.isdigit` takes '²', `int` takes '١': neither is an id Postgres would take)."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) > BIGINT_MAX:
        raise ValueError(raw)
    return int(raw)


def dm_filter(values: Any) -> DMFilter:
    kind = field(values, "kind")
    if kind is not None and kind not in KINDS:
        raise ValidationException(f"kind must be one of {', '.join(KINDS)}")
    since = field(values, "since")
    try:
        since_seconds = parse_duration(since) if since else None
    except ValueError as exc:
        raise ValidationException(f"since: {exc}") from None
    return DMFilter(
        kind=kind,
        error=field(values, "error"),
        since_seconds=since_seconds,
        account=field(values, "account"),
    )


def cursor(values: Any, name: str, key: Callable[[str], KeyT]) -> tuple[dt.datetime, KeyT] | None:
    """A keyset cursor `<ISO time>~<key>`: the last row of the page before; `key` reads
    the key (`int`, `uuid.UUID`, `str`), raising ValueError for one that is not."""
    raw = field(values, name)
    if raw is None:
        return None
    at, _, rest = raw.partition("~")
    try:
        when = dt.datetime.fromisoformat(at)
        if when.tzinfo is None or not rest:
            raise ValueError(raw)
        return when, key(rest)
    except ValueError:
        raise ValidationException(f"{name} is not a cursor of this console") from None
