"""The web process's limits on what a client may hold (`service.http.protocol`), on uvicorn's
protocol fed by hand: no socket, deadlines of a fraction of a second."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
import uvicorn
from uvicorn.server import ServerState

from service.http.protocol import MAX_HEADER_BYTES, Door, GuardedProtocol, Limits

LIMITS = Limits(
    header_timeout=0.3, body_timeout=0.3, body_min_rate=1000, max_connections=3, max_bodies=1
)


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}.get(
            name, default
        )

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope, receive, send) -> None:
    """Reads the whole body, then answers 200; a request to /early is answered unread."""
    more = scope["type"] == "http" and scope["path"] != "/early"
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b""})


@pytest.fixture
async def connect():
    config = uvicorn.Config(app, log_config=None, lifespan="off")
    config.load()
    state, door = ServerState(), Door(LIMITS)

    def open_one() -> tuple[GuardedProtocol, Transport]:
        protocol = door(config=config, server_state=state, app_state={})
        transport = Transport()
        protocol.connection_made(transport)
        return protocol, transport

    yield open_one
    for protocol in list(state.connections):
        protocol.connection_lost(None)
    await asyncio.gather(*state.tasks)  # each app sees its client gone, and returns


def post(length: int, path: bytes = b"/") -> bytes:
    return b"POST %s HTTP/1.1\r\nhost: web\r\ncontent-length: %d\r\n\r\n" % (path, length)


async def waited(condition: Callable[[], object], seconds: float = 2) -> float:
    """How long until `condition()` held (or `seconds`, if it never did)."""
    started = time.monotonic()
    while not condition() and time.monotonic() - started < seconds:
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def closed_within(transport: Transport, seconds: float) -> float:
    return await waited(lambda: transport.closed, seconds)


async def test_headers_that_do_not_arrive_in_time_get_a_408(connect):
    protocol, transport = connect()
    protocol.data_received(b"GET / HTTP/1.1\r\nhost: w")
    assert await closed_within(transport, 2) < LIMITS.header_timeout + 0.2
    assert transport.written.startswith(b"HTTP/1.1 408 ")


async def test_headers_over_16_kib_get_a_431(connect):
    protocol, transport = connect()
    protocol.data_received(b"GET / HTTP/1.1\r\nx-big: " + b"a" * MAX_HEADER_BYTES)
    assert transport.closed and transport.written.startswith(b"HTTP/1.1 431 ")


async def test_a_body_that_keeps_trickling_below_the_minimum_rate_is_cut_off(connect):
    protocol, transport = connect()
    protocol.data_received(post(100_000))
    started = time.monotonic()
    # 10 bytes every 20 ms: never a pause of body_timeout, 500 bytes a second on average.
    while not transport.closed and time.monotonic() - started < 2:
        protocol.data_received(b"x" * 10)
        await asyncio.sleep(0.02)
    assert transport.closed
    assert time.monotonic() - started < LIMITS.body_timeout + 0.5


async def test_beyond_the_bodies_in_flight_a_request_is_refused_until_one_ends(connect):
    first, _ = connect()
    first.data_received(post(10))
    second, refused = connect()
    second.data_received(post(10) + b"0123456789")
    assert refused.closed and refused.written.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1\r\n" in refused.written
    first.data_received(b"0123456789")  # its body is complete: the slot is free
    third, taken = connect()
    third.data_received(post(10))
    assert not taken.closed


async def test_beyond_the_connection_cap_a_connection_is_refused_before_it_is_read(connect):
    transports = [connect()[1] for _ in range(LIMITS.max_connections + 1)]
    assert [t.closed for t in transports] == [False] * LIMITS.max_connections + [True]
    assert transports[-1].written.startswith(b"HTTP/1.1 503 ")


async def test_a_connection_answered_before_its_body_then_idle_is_closed(connect):
    protocol, transport = connect()
    protocol.data_received(post(10, b"/early"))
    await waited(lambda: transport.written)  # the app's task answers
    assert transport.written.startswith(b"HTTP/1.1 200 ")
    protocol.data_received(b"0123456789")
    assert await closed_within(transport, 2) < LIMITS.header_timeout + 0.2
