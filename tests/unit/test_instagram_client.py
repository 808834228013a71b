"""GraphClient against a mocked transport: the request it sends and how every answer is
classified."""

from __future__ import annotations

import dataclasses
import email.utils
import json
import time
from collections.abc import Callable

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from service.instagram import (
    MAX_TEXT_BYTES,
    DeliveredWithError,
    GraphClient,
    GraphError,
    InvalidAccessTokenError,
    PermanentGraphError,
    RateLimitedError,
    SendResult,
    TransientGraphError,
    parse_retry_after,
    text_fits,
)
from service.instagram.graph_errors import MAX_RETRY_AFTER_SECONDS, error_from_response

TOKEN = "IGAAT0kenThatMustNeverLeak123"
BASE_URL = "https://graph.instagram.test/v24.0"
SCOPED_ID = "17841400000000001"
Handler = Callable[[httpx.Request], httpx.Response]


async def send(handler: Handler, text: str = "hello", recipient: str = "1789") -> SendResult:
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        client = GraphClient(http, base_url=BASE_URL, scoped_id=SCOPED_ID, access_token=TOKEN)
        return await client.send_text(recipient, text)


async def failure(handler: Handler) -> GraphError:
    with pytest.raises(GraphError) as caught:
        await send(handler)
    return caught.value


def answer(
    status: int, body: object = None, *, raw: bytes | None = None, **headers: str
) -> Handler:
    content = raw if raw is not None else b"" if body is None else json.dumps(body).encode()
    return lambda request: httpx.Response(status, content=content, headers=headers)


def graph_error(code: int | None, subcode: int | None = None, **extra: object) -> dict:
    error = {"message": "Graph says no", "type": "IGApiException", "fbtrace_id": "AbC123"}
    error |= {"code": code, "error_subcode": subcode} | extra
    return {"error": {k: v for k, v in error.items() if v is not None}}


async def test_send_text_posts_the_send_api_request_and_returns_the_message_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"recipient_id": "1789", "message_id": "mid.1"})

    assert await send(handler) == SendResult(recipient_id="1789", message_id="mid.1")
    (request,) = seen
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/{SCOPED_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert json.loads(request.content) == {
        "recipient": {"id": "1789"},
        "message": {"text": "hello"},
    }


def test_send_result_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SendResult("1", "m").message_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, None, TransientGraphError),
        (503, graph_error(2), TransientGraphError),
        (500, graph_error(1), TransientGraphError),
        (400, graph_error(1), TransientGraphError),
        (400, graph_error(2), TransientGraphError),
        (400, graph_error(9999, is_transient=True), TransientGraphError),
        (400, graph_error(4), RateLimitedError),
        (400, graph_error(17), RateLimitedError),
        (400, graph_error(32), RateLimitedError),
        (400, graph_error(613), RateLimitedError),
        (400, graph_error(613, 2534040), RateLimitedError),
        (400, graph_error(9999, 2534040), RateLimitedError),
        (429, None, RateLimitedError),
        (429, graph_error(9999), RateLimitedError),
        (403, graph_error(10, 2534022), PermanentGraphError),
        (400, graph_error(551), PermanentGraphError),
        (400, graph_error(100, 2534014), PermanentGraphError),
        (400, graph_error(200, 2534041), PermanentGraphError),
        (400, graph_error(9999), PermanentGraphError),
        (404, None, PermanentGraphError),
        (400, graph_error(190), InvalidAccessTokenError),
        (401, graph_error(190, 463), InvalidAccessTokenError),
        (500, graph_error(1, 1357046), DeliveredWithError),
        (400, graph_error(1, 1357046), DeliveredWithError),
    ],
)
async def test_each_graph_answer_is_classified_as_design_md_says(
    status: int, body: object, expected: type[GraphError]
) -> None:
    assert type(await failure(answer(status, body))) is expected


async def test_invalid_token_is_a_permanent_error() -> None:
    assert isinstance(await failure(answer(400, graph_error(190))), PermanentGraphError)


async def test_errors_carry_the_graph_fields() -> None:
    error = await failure(answer(403, graph_error(10, 2534022)))
    assert (error.message, error.http_status, error.code, error.subcode, error.fbtrace_id) == (
        "Graph says no",
        403,
        10,
        2534022,
        "AbC123",
    )
    assert str(error) == "Graph says no (HTTP 403, code 10, subcode 2534022, fbtrace_id AbC123)"


async def test_retry_after_in_seconds_is_read() -> None:
    error = await failure(answer(429, graph_error(4), **{"Retry-After": "30"}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 30.0


async def test_retry_after_on_a_5xx_is_read() -> None:
    error = await failure(answer(503, None, **{"Retry-After": "2"}))
    assert isinstance(error, TransientGraphError) and error.retry_after == 2.0


async def test_retry_after_as_an_http_date_is_read() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    error = await failure(answer(429, None, **{"Retry-After": when}))
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is not None and 100 < error.retry_after <= 121


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0),
        ("Wed, 21 Oct 2015 07:26:00 GMT", 0.0),
        ("soon", None),
        ("nan", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = 1445412420.0  # Wed, 21 Oct 2015 07:27:00 GMT
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize(
    "value",
    [
        "3601",
        "99999999999",  # about 3000 years: the account held for good
        "9" * 400,  # past what a float holds
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ],
)
def test_retry_after_is_capped_at_an_hour(value: str) -> None:
    assert parse_retry_after(value, now=1445412420.0) == MAX_RETRY_AFTER_SECONDS == 3600.0


async def test_no_retry_after_header_means_none() -> None:
    error = await failure(answer(429, None))
    assert isinstance(error, RateLimitedError) and error.retry_after is None


@pytest.mark.parametrize(
    ("status", "raw", "expected"),
    [
        (502, b"<html><body>Bad Gateway</body></html>", TransientGraphError),
        (400, b"Bad Request", PermanentGraphError),
        (429, b"slow down", RateLimitedError),
        (400, b'{"error": "not an object"}', PermanentGraphError),
        (503, b"[1, 2]", TransientGraphError),
        (500, b"\xff\xfe not utf-8", TransientGraphError),
    ],
)
async def test_non_json_or_malformed_error_bodies_are_classified_by_status(
    status: int, raw: bytes, expected: type[GraphError]
) -> None:
    error = await failure(answer(status, raw=raw))
    assert type(error) is expected
    assert error.http_status == status and error.code is None


async def test_a_non_json_error_body_is_quoted_in_the_message() -> None:
    error = await failure(answer(502, raw=b"<html>Bad Gateway</html>"))
    assert "Bad Gateway" in str(error)


@pytest.mark.parametrize(
    "raw",
    [b"OK", b"{}", b'{"message_id": ""}', b'{"message_id": 42}', b"[]", b""],
)
async def test_a_2xx_without_a_message_id_is_delivered_with_error(raw: bytes) -> None:
    assert type(await failure(answer(200, raw=raw))) is DeliveredWithError


@pytest.mark.parametrize(
    "exception",
    [
        httpx.ReadTimeout,
        httpx.ConnectTimeout,
        httpx.WriteTimeout,
        httpx.PoolTimeout,
        httpx.ConnectError,
        httpx.ReadError,
        httpx.RemoteProtocolError,
    ],
)
async def test_timeouts_and_connection_errors_are_transient(
    exception: type[httpx.TransportError],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception("network trouble", request=request)

    error = await failure(handler)
    assert type(error) is TransientGraphError
    assert error.http_status is None and error.retry_after is None
    assert exception.__name__ in str(error)


async def test_an_unsupported_url_scheme_is_permanent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'.")

    assert type(await failure(handler)) is PermanentGraphError


@pytest.mark.parametrize(
    "handler",
    [
        answer(400, {"error": {"message": f"Bad token {TOKEN}", "code": 190}}),
        answer(500, raw=f"upstream rejected Bearer {TOKEN}".encode()),
        answer(400, raw=f"echo: {TOKEN}".encode()),
    ],
    ids=["graph-message", "non-json-5xx", "non-json-4xx"],
)
async def test_the_access_token_never_appears_in_an_error(handler: Handler) -> None:
    error = await failure(handler)
    assert TOKEN not in str(error) and TOKEN not in repr(error) and TOKEN not in error.message


async def test_the_access_token_never_appears_in_a_transport_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot send {request.headers['authorization']}", request=request)

    error = await failure(handler)
    assert TOKEN not in str(error) and TOKEN not in repr(error)


async def test_the_access_token_is_not_in_the_client_repr() -> None:
    async with httpx.AsyncClient() as http:
        client = GraphClient(http, base_url=BASE_URL, scoped_id="me", access_token=TOKEN)
        assert TOKEN not in repr(client)


def test_text_fits_counts_utf8_bytes() -> None:
    assert text_fits("a" * MAX_TEXT_BYTES)
    assert not text_fits("a" * (MAX_TEXT_BYTES + 1))
    assert text_fits("é" * 500)  # 2 bytes each: exactly 1000
    assert not text_fits("é" * 500 + "a")


async def test_a_text_over_the_limit_fails_permanently_without_a_request() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request should be sent")

    with pytest.raises(PermanentGraphError, match="1001 bytes"):
        await send(handler, text="é" * 500 + "a")


JSON_VALUES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.lists(st.integers(), max_size=3)
)
ERROR_BODIES = st.binary(max_size=200) | st.builds(
    lambda error: json.dumps({"error": error}).encode(),
    st.dictionaries(
        st.sampled_from(["message", "code", "error_subcode", "fbtrace_id", "is_transient"]),
        JSON_VALUES,
    ),
)


@settings(database=None)
@given(status=st.integers(min_value=300, max_value=599), body=ERROR_BODIES)
@example(status=400, body='{"error": {"code": "\u00b2"}}'.encode())  # a digit int() refuses
def test_any_error_answer_is_classified_without_crashing(status: int, body: bytes) -> None:
    error = error_from_response(status, httpx.Headers(), body)
    assert isinstance(error, GraphError) and error.http_status == status
    assert error.message and isinstance(str(error), str)
