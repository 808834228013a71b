"""The one place where errors become HTTP responses, each a JSON body with a message.

Caller mistakes are 4xx; an unreachable database is 503 (callers, and Meta, retry);
nothing an input can do yields another 5xx.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import psycopg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_410_GONE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap
from procrastinate.exceptions import ConnectorException

from service.core.db import is_database_unavailable
from service.core.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidRequest,
    MalformedRequest,
    NotFound,
    RateLimited,
    ServiceError,
    Unauthenticated,
)

log = structlog.get_logger("http")


def error_response(status_code: int, detail: str, extra: object = None) -> Response:
    body: dict[str, object] = {"status_code": status_code, "detail": detail}
    if extra:
        body["extra"] = extra
    return Response(body, status_code=status_code)


def _http_exception(_: Request, exc: HTTPException) -> Response:
    return error_response(exc.status_code, exc.detail, getattr(exc, "extra", None))


# By class: Litestar hands an exception to the handler of the nearest class in its MRO, so a
# subclass (a NotFound of some kind) takes its base's status with no entry of its own.
_SERVICE_ERROR_STATUS: dict[type[ServiceError], int] = {
    MalformedRequest: HTTP_400_BAD_REQUEST,
    Unauthenticated: HTTP_401_UNAUTHORIZED,
    Forbidden: HTTP_403_FORBIDDEN,
    NotFound: HTTP_404_NOT_FOUND,
    Conflict: HTTP_409_CONFLICT,
    Gone: HTTP_410_GONE,
    InvalidRequest: HTTP_422_UNPROCESSABLE_ENTITY,
}


def _service_error(status_code: int) -> Callable[[Request, ServiceError], Response]:
    def handler(_: Request, exc: ServiceError) -> Response:
        return error_response(status_code, str(exc))

    return handler


def _rate_limited(_: Request, exc: RateLimited) -> Response:
    response = error_response(HTTP_429_TOO_MANY_REQUESTS, str(exc))
    response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_seconds)))
    return response


def _data_error(_: Request, exc: psycopg.DataError) -> Response:
    # Values Postgres cannot store (e.g. a NUL in JSON text); the transaction rolled back.
    reason = exc.diag.message_primary or exc
    return error_response(
        HTTP_422_UNPROCESSABLE_ENTITY, f"a value in the request cannot be stored: {reason}"
    )


def _undecodable_body(_: Request, exc: Exception) -> Response:
    # The JSON decoder raises these, outside Litestar's validation, for a body that is not
    # UTF-8 or is nested deeper than Python can follow. No code of ours recurses or decodes
    # bytes in a request, so here they can only come from the input.
    reason = "is not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "is nested too deeply"
    return error_response(HTTP_400_BAD_REQUEST, f"the request body {reason}")


def _database_error(request: Request, exc: Exception) -> Response:
    """psycopg's errors, and procrastinate's `ConnectorException` that wraps them."""
    if is_database_unavailable(exc):
        return _database_unavailable(request, exc)
    cause = exc.__cause__ if isinstance(exc, ConnectorException) else exc
    if isinstance(cause, psycopg.DataError):
        return _data_error(request, cause)
    return _unexpected(request, exc)


def _database_unavailable(_: Request, exc: Exception) -> Response:
    log.warning("database unavailable", error=type(exc).__name__)
    return Response(
        {"status_code": 503, "detail": "database unavailable, retry later"},
        status_code=HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "5"},
    )


def _unexpected(_: Request, exc: Exception) -> Response:
    log.exception("unhandled error")
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http_exception,
    **{error: _service_error(status) for error, status in _SERVICE_ERROR_STATUS.items()},
    RateLimited: _rate_limited,
    # psycopg_pool's errors (PoolTimeout, PoolClosed) are OperationalErrors.
    psycopg.Error: _database_error,
    ConnectorException: _database_error,
    UnicodeDecodeError: _undecodable_body,
    RecursionError: _undecodable_body,
    Exception: _unexpected,
}


def response_for(request: Request, exc: Exception) -> Response:
    """The response the app's handlers give for `exc`, for an error raised where Litestar's
    own handling of them does not reach (`service.http.outcomes`)."""
    for kind in type(exc).__mro__:
        if handler := EXCEPTION_HANDLERS.get(kind):
            return handler(request, exc)
    return _unexpected(request, exc)
