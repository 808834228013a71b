"""The console's sign-in limit against a real server, behind the two kinds of proxy: one
that uvicorn trusts (its X-Forwarded-For names the client, whatever the client put there)
and one it does not (every client arrives from the proxy's address)."""

from __future__ import annotations

import re

import httpx
import pytest

from service.console.signin_limits import MAX_FAILURES, MAX_FAILURES_PER_MINUTE
from tests.support.stack import Stack, make_env

PASSWORD = "console-password-0123456789"


@pytest.fixture
def web(database_url, sandbox, db):
    env = make_env(database_url=database_url, graph_url=sandbox.url, CONSOLE_PASSWORD=PASSWORD)
    with Stack(env, sandbox, db, live_server=True) as stack:
        yield stack.live_server.url


def sign_in(client: httpx.Client, password: str, **headers: str) -> int:
    page = client.get("/console/login", headers=headers)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)[1]
    form = {"_csrf_token": token, "operator": "ada", "password": password, "next": "/console"}
    return client.post("/console/login", data=form, headers=headers).status_code


def test_a_fresh_forwarded_address_per_guess_gets_no_more_than_the_global_cap(web):
    with httpx.Client(base_url=web) as client:
        for n in range(MAX_FAILURES_PER_MINUTE):
            forwarded = {"x-forwarded-for": f"203.0.113.{n}"}
            assert sign_in(client, "wrong-password-0123", **forwarded) == 401
        assert sign_in(client, "wrong-password-0123", **{"x-forwarded-for": "198.51.100.9"}) == 429


def test_behind_a_shared_address_a_stranger_cannot_lock_out_an_operator(web):
    with httpx.Client(base_url=web) as operator, httpx.Client(base_url=web) as stranger:
        assert sign_in(operator, PASSWORD) == 303  # this browser has signed in before
        for _ in range(MAX_FAILURES):
            assert sign_in(stranger, "wrong-password-0123") == 401
        assert sign_in(stranger, "wrong-password-0123") == 429
        assert sign_in(stranger, PASSWORD) == 429  # held, right password or not
        assert sign_in(operator, PASSWORD) == 303
