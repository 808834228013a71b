"""The error mapping: domain errors by class, a subclass as its base; and however a lost
database reaches a handler, the caller gets a 503."""

from __future__ import annotations

import psycopg
import psycopg_pool
import pytest
from litestar import Litestar, get
from litestar.testing import TestClient
from procrastinate.exceptions import ConnectorException

from service.core.errors import (
    Forbidden,
    InvalidRequest,
    MalformedRequest,
    NotFound,
    Unauthenticated,
)
from service.http.error_responses import EXCEPTION_HANDLERS


def answer(error: Exception):
    """What a client gets when a handler raises `error`."""

    @get("/boom", sync_to_thread=False)
    def boom() -> None:
        raise error

    app = Litestar([boom], exception_handlers=EXCEPTION_HANDLERS, logging_config=None)
    with TestClient(app) as client:
        return client.get("/boom")


@pytest.mark.parametrize(
    "base, status",
    [
        (MalformedRequest, 400),
        (Unauthenticated, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (InvalidRequest, 422),
    ],
)
def test_a_new_subclass_of_a_domain_error_answers_as_its_base(base, status):
    subclass = type(f"Particular{base.__name__}", (base,), {})

    for error in (base("what went wrong"), subclass("what went wrong")):
        response = answer(error)
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"status_code": status, "detail": "what went wrong"}


def wrapped(cause: Exception) -> ConnectorException:
    """As procrastinate raises it from a defer."""
    try:
        raise ConnectorException from cause
    except ConnectorException as exc:
        return exc


@pytest.mark.parametrize(
    "error, status",
    [
        (psycopg.OperationalError("server closed the connection"), 503),
        (psycopg_pool.PoolTimeout("couldn't get a connection"), 503),
        (psycopg_pool.PoolClosed("the pool is closed"), 503),
        (wrapped(psycopg.OperationalError("terminating connection")), 503),
        (RecursionError("maximum recursion depth exceeded"), 400),
        (wrapped(psycopg.ProgrammingError("a bug")), 500),
    ],
    ids=["operational", "pool timeout", "pool closed", "procrastinate", "recursion", "bug"],
)
def test_errors_map_to_json_responses(error, status):
    response = answer(error)
    assert response.status_code == status
    assert response.json()["status_code"] == status and response.json()["detail"]
