"""uvicorn's HTTP/1.1 protocol (httptools) with the limits it lacks, kept per process.

uvicorn closes an idle kept-alive connection (`timeout_keep_alive`), and nothing else: a
connection that never finishes its headers, or its body, is held for ever, with what it
sent so far. So here:
- a request's headers must arrive within `header_timeout` of the connection (or of the
  request's first byte, on a kept-alive one), in at most MAX_HEADER_BYTES;
- its body must keep coming: no pause of `body_timeout`, and, after the first
  `body_timeout`, `body_min_rate` bytes a second on average (time the server itself
  stopped reading does not count);
- beyond `max_connections` connections, or `max_bodies` bodies being received, the next
  is answered 503 with Retry-After before anything of it is parsed or read.
uvicorn's `limit_concurrency` refuses only once the headers are in, without Retry-After,
so it is not used. (granian, measured against this, closes slow headers but neither
slow bodies nor refuses anything: docs/operations.md, "The front door".)
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from service.core.metrics import HTTP_REFUSED
from service.core.settings import Settings

# As h11's default limit on an incomplete request head (uvicorn's other protocol).
MAX_HEADER_BYTES = 16 * 1024
RETRY_AFTER_SECONDS = 1


@dataclasses.dataclass(frozen=True, kw_only=True)
class Limits:
    header_timeout: float
    body_timeout: float
    body_min_rate: float
    max_connections: int
    max_bodies: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            header_timeout=settings.http_header_timeout_seconds,
            body_timeout=settings.http_body_timeout_seconds,
            body_min_rate=settings.http_body_min_rate,
            max_connections=settings.http_max_connections,
            max_bodies=settings.http_max_bodies_in_flight,
        )


def canned(status: int, reason: str, detail: str, *, retry_after: bool = False) -> bytes:
    """A whole response that closes the connection, written without the app."""
    body = json.dumps({"status_code": status, "detail": detail}).encode()
    hint = b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS if retry_after else b""
    return (
        b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n%s"
        b"connection: close\r\n\r\n%s" % (status, reason.encode(), len(body), hint, body)
    )


BUSY = canned(503, "Service Unavailable", "too busy, retry later", retry_after=True)
SLOW_HEADERS = canned(408, "Request Timeout", "the request headers came too slowly")
LARGE_HEADERS = canned(431, "Request Header Fields Too Large", "the request headers are too large")


def announces_body(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether a request's (lower-cased) headers say a body follows."""
    for name, value in headers:
        if name == b"content-length" and value.strip() not in (b"", b"0"):
            return True
        if name == b"transfer-encoding":
            return True
    return False


class Door:
    """What uvicorn calls for each connection (its `http` option). It is pickled into each
    worker process, so each counts its own bodies in flight."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.bodies = 0

    def __call__(self, **uvicorn_arguments: Any) -> GuardedProtocol:
        return GuardedProtocol(self, **uvicorn_arguments)


class GuardedProtocol(HttpToolsProtocol):
    def __init__(self, door: Door, **uvicorn_arguments: Any) -> None:
        super().__init__(**uvicorn_arguments)
        self.door = door
        self.limits = door.limits
        self.deadline: asyncio.TimerHandle | None = None
        self.head_bytes: int | None = 0  # None once the headers are in
        self.receiving = False  # a body, counted in `door.bodies`
        self.body_clock = (0.0, 0)  # since when, and bytes since then
        self.refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            self.refuse(BUSY, "connections")
        else:
            self.arm(self.limits.header_timeout, self.headers_too_slow)

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm()
        self.end_body()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.refused:
            return
        super().data_received(data)
        if self.head_bytes is not None:
            self.head_bytes += len(data)
            if self.head_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
                self.refuse(LARGE_HEADERS, "header_size")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.head_bytes = 0
        self.arm(self.limits.header_timeout, self.headers_too_slow)

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        if not announces_body(self.headers):
            self.disarm()
        elif self.door.bodies >= self.limits.max_bodies:
            self.refuse(BUSY, "bodies")
            return
        else:
            self.door.bodies += 1
            self.receiving = True
            self.body_clock = (self.loop.time(), 0)
            self.arm(self.limits.body_timeout, self.body_too_slow)
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.refused:
            return
        super().on_body(body)
        since, received = self.body_clock
        self.body_clock = (since, received + len(body))
        self.arm(self.body_wait(), self.body_too_slow)

    def on_message_complete(self) -> None:
        if self.refused:
            return
        self.disarm()
        self.end_body()
        super().on_message_complete()
        if self.cycle is not None and self.cycle.response_complete:
            # Answered before its body was in (a 413, a 401): uvicorn armed its keep-alive
            # timer then, and the body's bytes cancelled it. Wait for the next request.
            self.arm(self.limits.header_timeout, self.headers_too_slow)

    def body_wait(self) -> float:
        """How long from now the body may pause: `body_timeout`, or less once the average
        rate since the clock started would fall below the minimum."""
        since, received = self.body_clock
        wait = self.limits.body_timeout
        if self.limits.body_min_rate > 0:
            due = since + self.limits.body_timeout + received / self.limits.body_min_rate
            wait = min(wait, due - self.loop.time())
        return max(wait, 0.0)

    def headers_too_slow(self) -> None:
        HTTP_REFUSED.labels("header_timeout").inc()
        if self.cycle is None or self.cycle.response_complete:
            self.transport.write(SLOW_HEADERS)
        self.transport.close()

    def body_too_slow(self) -> None:
        if self.flow.read_paused:
            # The app is not reading yet, so the client cannot send: not the client's delay.
            self.body_clock = (self.loop.time(), 0)
            self.arm(self.limits.body_timeout, self.body_too_slow)
            return
        HTTP_REFUSED.labels("body_timeout").inc()
        # The app is waiting for the rest of the body: it sees the client gone.
        self.transport.close()

    def refuse(self, answer: bytes, reason: str) -> None:
        HTTP_REFUSED.labels(reason).inc()
        self.refused = True
        self.disarm()
        self.transport.write(answer)
        self.transport.close()

    def end_body(self) -> None:
        if self.receiving:
            self.receiving = False
            self.door.bodies -= 1

    def arm(self, seconds: float, then: Any) -> None:
        self.disarm()
        self.deadline = self.loop.call_later(seconds, then)

    def disarm(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
