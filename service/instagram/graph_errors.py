"""Graph API errors, and the one place that decides which is which.

Callers choose behaviour by type, so the retry policy never reads codes itself::

    GraphError                      any failed send; message, http_status, code, subcode, fbtrace_id
    ├── TransientGraphError         retry later (5xx, timeout, connection error, code 1 or 2,
    │   │                           is_transient); retry_after: seconds, from Retry-After
    │   └── RateLimitedError        codes 4, 17, 32, 613, subcode 2534040, HTTP 429
    ├── PermanentGraphError         never retry (outside the 24 h window, unknown or unavailable
    │   │                           user, messages disabled, any other 4xx)
    │   └── InvalidAccessTokenError code 190: alert and stop sending until the token is replaced
    └── DeliveredWithError          code 1 / subcode 1357046, or a 2xx without a message_id:
                                    the DM probably went out; treat it as sent, never resend

The classification follows Meta's documented error codes (the table in docs/reliability.md).
Messages never carry the access token: `GraphClient` redacts it before it builds an error.
"""

from __future__ import annotations

import datetime
import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import Any

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
RATE_LIMIT_SUBCODES = frozenset({2534040})
TRANSIENT_CODES = frozenset({1, 2})
# Known permanent answers, permanent whatever HTTP status carries them.
PERMANENT_CODES = frozenset({10, 100, 200, 551})
INVALID_TOKEN_CODE = 190
DELIVERED_WITH_ERROR = (1, 1357046)
# The longest wait a Retry-After may ask for: a huge value (or a date far ahead) would
# otherwise hold the account for good, or overflow the scheduling of the retry.
MAX_RETRY_AFTER_SECONDS = 3600.0
_BODY_SNIPPET_CHARS = 200


class GraphError(Exception):
    """A send that did not return a usable answer."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id

    def __str__(self) -> str:
        # One line that an operator can grep, and that fits outbound_messages.error.
        details = [
            f"{label} {value}"
            for label, value in (
                ("HTTP", self.http_status),
                ("code", self.code),
                ("subcode", self.subcode),
                ("fbtrace_id", self.fbtrace_id),
            )
            if value is not None
        ]
        return f"{self.message} ({', '.join(details)})" if details else self.message


class TransientGraphError(GraphError):
    """Worth retrying; `retry_after` is the server's requested wait in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimitedError(TransientGraphError):
    """Over a Graph API rate limit: back off, honouring `retry_after`."""


class PermanentGraphError(GraphError):
    """Retrying cannot help: fail the send at once."""


class InvalidAccessTokenError(PermanentGraphError):
    """The access token is invalid or expired (code 190): every send will fail until replaced.
    `token_digest` names the stored token refused (None: not a stored one)."""

    token_digest: str | None = None


class DeliveredWithError(GraphError):
    """The DM was (probably) delivered although the answer is an error: do not resend."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date, at most
    `MAX_RETRY_AFTER_SECONDS`."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT ("-0000" parses as naive)
            when = when.replace(tzinfo=datetime.UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    # float() also reads "nan" and "inf", which ask for no wait we know; digits past what a
    # float holds are inf too, but as huge as they look, so they are capped below.
    if math.isnan(seconds) or (math.isinf(seconds) and not value.isdigit()):
        return None
    return min(MAX_RETRY_AFTER_SECONDS, max(0.0, seconds))


def error_from_response(
    status: int, headers: Mapping[str, str], body: bytes, *, redact: str | None = None
) -> GraphError:
    """Classify a non-2xx answer. `redact` is a secret to strip from any quoted text."""
    payload = _error_payload(body)
    code = _as_int(payload.get("code"))
    subcode = _as_int(payload.get("error_subcode"))
    message = payload.get("message")
    if not isinstance(message, str) or not message:
        snippet = body[:_BODY_SNIPPET_CHARS].decode("utf-8", "replace").strip()
        message = f"Graph API answered HTTP {status}" + (f": {snippet}" if snippet else "")
    if redact:
        message = message.replace(redact, "[redacted]")
    trace = payload.get("fbtrace_id")
    fields: dict[str, Any] = {
        "http_status": status,
        "code": code,
        "subcode": subcode,
        "fbtrace_id": trace if isinstance(trace, str) else headers.get("x-fb-trace-id"),
    }
    retry_after = parse_retry_after(headers.get("retry-after"))

    if code == INVALID_TOKEN_CODE:
        return InvalidAccessTokenError(message, **fields)
    if (code, subcode) == DELIVERED_WITH_ERROR:
        return DeliveredWithError(message, **fields)
    if code in RATE_LIMIT_CODES or subcode in RATE_LIMIT_SUBCODES or status == 429:
        return RateLimitedError(message, retry_after=retry_after, **fields)
    if code in PERMANENT_CODES:
        return PermanentGraphError(message, **fields)
    if code in TRANSIENT_CODES or payload.get("is_transient") is True or status >= 500:
        return TransientGraphError(message, retry_after=retry_after, **fields)
    return PermanentGraphError(message, **fields)


def _error_payload(body: bytes) -> dict[str, Any]:
    """The `error` object of a Graph error body, or {} when the body is not one."""
    try:
        document = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return {}
    error = document.get("error") if isinstance(document, dict) else None
    return error if isinstance(error, dict) else {}


def _as_int(value: Any) -> int | None:
    # Graph sends integers, but a string code must not make a known error look unknown.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    # ASCII digits only: isdigit() also accepts characters such as "²" that int() refuses.
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value)
    return None
