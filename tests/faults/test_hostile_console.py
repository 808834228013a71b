"""Hostile input against the console of a real web process, signed in, on a day of realistic
rows: every field of every page and action fuzzed (hypothesis; the console is not in the
OpenAPI schema), and the classics by hand. Zero 5xx."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from service.console.pages import THRESHOLD_NAMES
from tests.faults.harness import FaultStack
from tests.support import console_demo

FORM = "application/x-www-form-urlencoded"
PASSWORD = "hostile-console-password-0123"
FILTER = ("kind", "error", "since")
# Each page and action, and the fields it reads.
PAGES = {
    "/console": THRESHOLD_NAMES,
    "/console/search": ("q",),
    "/console/message": ("mid",),
    "/console/user": ("ig_id", "before"),
    "/console/failures": (*FILTER, "dms_before", "deliveries_before"),
    "/console/requeue": FILTER,
}
ACTIONS = {
    "/console/requeue": FILTER,
    "/console/dms/requeue": ("outbound_id",),
    "/console/deliveries/replay": ("delivery_id",),
    "/console/message/reveal": ("mid",),
    # Outside the session; the signed-in cookies these requests carry are never replaced.
    "/console/login": ("operator", "password", "next"),
    "/console/logout": (),
}
# Text that passes for a number, an id or a time to one parser and not to another.
TRICKY = [
    "²",
    "١٢",
    "Ⅻ",
    "𝟙",
    "-1",
    "0",
    "1e3",
    " 7 ",
    "0x1f",
    "9" * 40,
    "2026-12-07T08:00:00+00:00~²",
    "9999-12-31T23:59:59-01:00~1",
    "2026-12-07~",
    "nan",
    "∞",
    "\x00",
    "a\u202eb",
    "x" * 1001,
]
VALUE = (
    st.text(max_size=40)
    | st.text(st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=4)
    | st.integers().map(str)
    | st.sampled_from(TRICKY)
)
FUZZ = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


class Console:
    """A signed-in operator's cookies and CSRF token, sent with each request by hand (a
    client's cookie jar would take a fuzzed sign-out's cleared cookie)."""

    def __init__(self, url: str) -> None:
        self.url = url
        login = httpx.get(f"{url}/console/login", timeout=30)
        token = re.search(r'name="_csrf_token" value="([^"]+)"', login.text)[1]
        signed_in = httpx.post(
            f"{url}/console/login",
            data={"_csrf_token": token, "operator": "mallory", "password": PASSWORD},
            cookies=login.cookies,
            timeout=30,
        )
        assert signed_in.status_code == 303, signed_in.text
        self.cookies = {**dict(login.cookies), **dict(signed_in.cookies)}
        self.csrf = token

    def get(self, path: str, params) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", params=params, cookies=self.cookies, timeout=30)

    def post(self, path: str, form=(), *, content_type: str = FORM, body: bytes = b""):
        """POST `form` (pairs, urlencoded), or else `body` as `content_type`."""
        return httpx.post(
            f"{self.url}{path}",
            cookies=self.cookies,
            headers={"x-csrftoken": self.csrf, "content-type": content_type},
            content=urlencode(form).encode() if form else body,
            timeout=30,
        )


@pytest.fixture(scope="module")
def console(cluster, sandbox_server):
    stack = FaultStack(cluster, sandbox_server, CONSOLE_PASSWORD=PASSWORD)
    with psycopg.connect(stack.url, autocommit=True, row_factory=dict_row) as db:
        console_demo.seed(db)
    stack.start_web()
    yield Console(stack.web_url)
    stack.close()


def fields(names) -> st.SearchStrategy:
    """A form or query string: its own fields, others, each once or repeated."""
    name = st.sampled_from(names) | st.text(max_size=12) if names else st.text(max_size=12)
    return st.lists(st.tuples(name, VALUE), max_size=6)


@pytest.mark.parametrize("path", PAGES)
def test_fuzzed_page_fields_find_no_server_error(console, path):
    @given(params=fields(PAGES[path]))
    @FUZZ
    def fuzz(params):
        answer = console.get(path, params)
        assert answer.status_code < 500, (params, answer.text)

    fuzz()


@pytest.mark.parametrize("path", ACTIONS)
def test_fuzzed_action_fields_find_no_server_error(console, path):
    @given(form=fields(ACTIONS[path]))
    @example(form=[(name, "²") for name in ACTIONS[path]])
    @FUZZ
    def fuzz(form):
        answer = console.post(path, form)
        assert answer.status_code < 500, (form, answer.text)

    fuzz()


BODIES = {
    "JSON": ("application/json", b'{"delivery_id": 1}'),
    "multipart without a boundary": ("multipart/form-data", b"--x\r\n"),
    "multipart": ("multipart/form-data; boundary=x", b'--x\r\nContent-Disposition: form-data;'
                  b' name="delivery_id"\r\n\r\n\xb2\r\n--x--\r\n'),
    "not UTF-8": ("application/x-www-form-urlencoded", b"delivery_id=%B2&mid=%FF%FE"),
    "no content type": ("", b"delivery_id=1"),
}  # fmt: skip


@pytest.mark.parametrize("name", BODIES)
@pytest.mark.parametrize("path", ACTIONS)
def test_hostile_action_bodies_find_no_server_error(console, path, name):
    content_type, body = BODIES[name]
    answer = console.post(path, content_type=content_type, body=body)
    assert answer.status_code < 500, answer.text


@pytest.mark.parametrize("delivery_id", ["²", "١", "9" * 40, "-1"])
def test_a_delivery_id_that_is_not_one_is_refused(console, delivery_id):
    answer = console.post("/console/deliveries/replay", [("delivery_id", delivery_id)])
    assert answer.status_code == 400, answer.text
    assert "delivery_id" in answer.json()["detail"]
