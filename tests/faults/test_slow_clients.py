"""Slow and stalled clients against a real `ingest web`: every stalled connection is closed
within its deadline, memory stays bounded, and /healthz keeps answering meanwhile."""

from __future__ import annotations

import socket
import statistics
import time
import urllib.parse

import httpx
import psutil
import pytest

from tests.support.processes import wait_until

HEADER_TIMEOUT = 3.0
BODY_TIMEOUT = 5.0
KEEP_ALIVE = 2.0
MAX_BODIES = 20
# A deadline is kept within this much on a loaded machine (the test runs beside others).
SLACK = 2.0
MIB = 1024 * 1024
# Stalled bodies announce 4 MiB (a webhook delivery may be that big) and send 1 MiB of it.
ANNOUNCED, SENT = 4 * MIB, 1 * MIB
WEBHOOK = b"/api/webhooks/instagram"


@pytest.fixture
def connect():
    """`connect(address)`: a client socket, closed after the test."""
    opened: list[socket.socket] = []

    def open_one(address: tuple[str, int]) -> socket.socket:
        opened.append(socket.create_connection(address))
        return opened[-1]

    yield open_one
    for sock in opened:
        sock.close()


class Stalled:
    """One client connection that sends `data` and then nothing more."""

    def __init__(self, sock: socket.socket, kind: str, data: bytes) -> None:
        self.kind = kind
        self.sock = sock
        self.opened = time.monotonic()
        self.answer = b""
        self.closed_after: float | None = None
        try:
            self.sock.sendall(data)
        except OSError:  # refused and closed before everything was taken
            pass
        self.sock.setblocking(False)

    def poll(self) -> None:
        if self.closed_after is not None:
            return
        try:
            while chunk := self.sock.recv(65536):
                self.answer += chunk
        except BlockingIOError:
            return
        except OSError:
            pass
        self.closed_after = time.monotonic() - self.opened


def head(path: bytes, content_length: int) -> bytes:
    return (
        b"POST %s HTTP/1.1\r\nHost: web\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % (path, content_length)
    )


def rss_mib(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / MIB


def open_connections(pid: int, port: int) -> int:
    connections = psutil.Process(pid).net_connections(kind="tcp")
    return sum(1 for c in connections if c.laddr.port == port and c.status == "ESTABLISHED")


def address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "", parts.port or 80


def test_stalled_clients_are_closed_in_time_while_healthz_answers(faults, connect, request):
    stack = faults(
        HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        HTTP_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        HTTP_KEEP_ALIVE_SECONDS=str(int(KEEP_ALIVE)),
        HTTP_MAX_BODIES_IN_FLIGHT=str(MAX_BODIES),
    )
    web = stack.start_web()
    where = address(stack.web_url)
    client = httpx.Client(base_url=stack.web_url, timeout=5)
    request.addfinalizer(client.close)
    client.get("/healthz")
    before = rss_mib(web.process.pid)

    def stalled(kind: str, data: bytes) -> Stalled:
        return Stalled(connect(where), kind, data)

    kept_alive = stalled("idle", b"GET /healthz HTTP/1.1\r\nHost: web\r\n\r\n")
    sockets = [stalled("body", head(WEBHOOK, ANNOUNCED) + b"x" * SENT) for _ in range(50)]
    sockets += [stalled("header", b"POST /api/webhooks/instagram HTTP/1.1\r\nHost: w")]
    sockets += [stalled("header", b"GET /healthz HTTP/1.1\r\nX-Slow: ") for _ in range(19)]
    sockets.append(kept_alive)

    latencies, peak = [], before
    deadline = time.monotonic() + BODY_TIMEOUT + 2 * SLACK
    while time.monotonic() < deadline and any(s.closed_after is None for s in sockets):
        for s in sockets:
            s.poll()
        started = time.perf_counter()
        assert client.get("/healthz").status_code == 200
        latencies.append((time.perf_counter() - started) * 1000)
        peak = max(peak, rss_mib(web.process.pid))
        time.sleep(0.05)

    refused = [s for s in sockets if s.answer.startswith(b"HTTP/1.1 503")]
    held = [s for s in sockets if s.kind == "body" and s not in refused]
    figures = {
        kind: max((s.closed_after or float("inf")) for s in sockets if s.kind == kind)
        for kind in ("header", "body", "idle")
    }
    print(
        f"\nRSS {before:.1f} MiB before, {peak:.1f} MiB at peak (+{peak - before:.1f});"
        f" closed after at most: headers {figures['header']:.2f} s, bodies"
        f" {figures['body']:.2f} s, idle keep-alive {figures['idle']:.2f} s;"
        f" {len(refused)} bodies refused at once (503);"
        f" /healthz over {len(latencies)} calls: median {statistics.median(latencies):.1f} ms,"
        f" p95 {statistics.quantiles(latencies, n=20)[-1]:.1f} ms, max {max(latencies):.1f} ms"
    )
    assert figures["header"] <= HEADER_TIMEOUT + SLACK
    assert figures["body"] <= BODY_TIMEOUT + SLACK
    assert figures["idle"] <= KEEP_ALIVE + SLACK
    # Beyond the bodies in flight, the rest are refused at once, cheaply, with a hint.
    assert len(held) == MAX_BODIES and len(refused) == 50 - MAX_BODIES
    assert all(b"retry-after: " in s.answer.lower() for s in refused)
    assert all(s.closed_after is not None and s.closed_after < SLACK for s in refused)
    # What the held bodies had sent, with room for the allocator, and no more.
    assert peak - before < MAX_BODIES * SENT / MIB + 24
    assert statistics.quantiles(latencies, n=20)[-1] < 100
    # The process still serves after it all.
    assert client.post("/api/webhooks/instagram", content=b"{}").status_code == 401


def test_beyond_the_connection_cap_a_connection_is_refused_at_once(faults, connect):
    stack = faults(HTTP_MAX_CONNECTIONS="5")
    web = stack.start_web()
    where = address(stack.web_url)
    idle = [connect(where) for _ in range(5)]
    wait_until(lambda: open_connections(web.process.pid, where[1]) == 5, what="5 connections")
    extra = Stalled(connect(where), "extra", b"")
    wait_until(lambda: extra.poll() or extra.closed_after is not None, what="a refusal")
    assert extra.answer.startswith(b"HTTP/1.1 503"), extra.answer
    assert b"retry-after: " in extra.answer.lower()
    assert extra.closed_after is not None and extra.closed_after < SLACK
    for sock in idle:
        sock.close()
    wait_until(lambda: httpx.get(f"{stack.web_url}/healthz").status_code == 200, what="healthz")
