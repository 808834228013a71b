"""The sandbox's HTTP plumbing (`devtools.sandbox`): its listening socket, its uvicorn
server, and reading a request body and writing an answer over raw ASGI (no framework, so
a benchmark measures the service, not the sandbox)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Mapping
from typing import Any

import uvicorn

MAX_BODY_BYTES = 64 * 1024


class ReadyServer(uvicorn.Server):
    """uvicorn, announcing readiness on an Event so `start()` waits without polling."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


def config(app: Any, *, log_level: str | None) -> uvicorn.Config:
    # log_config=None: never reconfigure the host process's logging (`ingest dev`, pytest).
    # Keep-alive above the client's 20 s, so the server never closes a connection being reused.
    return uvicorn.Config(
        app,
        lifespan="off",
        ws="none",
        log_config=None,
        log_level=log_level,
        timeout_keep_alive=75,
        timeout_graceful_shutdown=2,
        server_header=False,
    )


def bind(port: int) -> socket.socket:
    # Bound here, not by uvicorn, so the real port is known before serving (port 0).
    # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on such sockets, and
    # without it each answer (headers, then body) waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock


async def read_body(receive: Any) -> bytes | None:
    """The request's body; None when it is over `MAX_BODY_BYTES`."""
    body, more = b"", True
    while more:
        event = await receive()
        body += event.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return None
        more = event.get("more_body", False)
    return body


async def answer(
    send: Any, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> None:
    """Answer with `body`: text as text/plain (None: empty), anything else as JSON."""
    if isinstance(body, str) or body is None:
        payload, content_type = (body or "").encode(), b"text/plain; charset=utf-8"
    else:
        payload, content_type = json.dumps(body).encode(), b"application/json"
    raw_headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(payload))]
    raw_headers += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


THREAD_NAME = "graph-sandbox"
# Every uvicorn server logs its start and stop here: in a process that serves more (`ingest
# dev`), the sandbox's lines read as the service's own, each said twice.
UVICORN_LOG = logging.getLogger("uvicorn.error")


class QuietLifecycle(logging.Filter):
    """Drops the background sandbox's informational lines; its warnings still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME or record.levelno >= logging.WARNING


def quiet_lifecycle_lines() -> None:
    """Install `QuietLifecycle` once per process."""
    if not any(isinstance(f, QuietLifecycle) for f in UVICORN_LOG.filters):
        UVICORN_LOG.addFilter(QuietLifecycle())
