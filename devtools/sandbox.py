"""A loopback stand-in for the Graph API Send API, for `ingest dev`, tests and benchmarks.

`POST /{scoped_id}/messages` (after any path prefix, e.g. `/v24.0`) checks the bearer token and
the body, records the DM and answers like Meta. Tests script failures: each valid send consumes
the next scripted response, if any; a scripted non-2xx records nothing (set `deliver` to model
"sent, yet an error"). Control endpoints for other processes: `GET /_sandbox/messages`,
`GET /_sandbox/requests` (counts: Send API requests, DMs recorded), `POST /_sandbox/script`
(one response or a list), `POST /_sandbox/rate-limit`
(`{"per_second": N}`, see below), `POST /_sandbox/reset`. Each DM records when its request arrived
(`arrived_at`, before the latency) and when it was answered (`received_at`, after). A test
that needs a send to stay in flight calls `hold()`: requests are counted, then wait until
`release()` (`wait_for_attempts(n)` tells when they have arrived).

Meta's rate limit: with `rate_limit_per_second` (`--rate-limit`), a send arriving when that
many were accepted within the second before is answered 429 (Graph code 4) and recorded
nowhere but in the count of `rate_limited` (`GET /_sandbox/requests`).

The account endpoints (token refresh, webhook subscriptions) and a revoked token's code 190:
`devtools.sandbox_accounts`, as `sandbox.accounts`.

In-process: `with Sandbox(latency_seconds=0.05) as sandbox: ... sandbox.url ...`.
Standalone: `python -m devtools.sandbox --port 8900 --latency-ms 50` (`--port 0`: a free port).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn

from devtools.sandbox_accounts import Accounts, graph_error

log = logging.getLogger("sandbox")
_TOKEN_IN_LINK = re.compile(r"token=[^&\s]+")
MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_BYTES = 1000  # Meta's limit, enforced here as Meta does
HOLD_SECONDS = 60.0  # the longest a held request waits for release()


@dataclasses.dataclass(frozen=True)
class ScriptedResponse:
    """One scripted answer. `body`: JSON value or raw text; None: Meta's success answer on a
    2xx, an empty body otherwise. `deliver`: record the DM (default: iff 2xx)."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    delay_seconds: float = 0.0
    deliver: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status!r}")

    @property
    def delivers(self) -> bool:
        return self.deliver if self.deliver is not None else 200 <= self.status < 300


@dataclasses.dataclass(frozen=True)
class SandboxMessage:
    recipient_id: str
    text: str
    message_id: str
    received_at: datetime.datetime
    scoped_id: str
    # When the request reached the sandbox, before its latency: where a benchmark's clock
    # for "the DM reached Meta" stops.
    arrived_at: datetime.datetime


class Sandbox:
    """The sandbox's state, and its server on 127.0.0.1 (a background thread, or `serve()`)."""

    def __init__(
        self, *, latency_seconds: float = 0.0, port: int = 0, rate_limit_per_second: float = 0.0
    ) -> None:
        self.latency_seconds = latency_seconds  # added to every Send API answer
        self.rate_limit_per_second = rate_limit_per_second  # 0: no limit
        self.url = ""
        self._port = port
        # One lock for all state: the server's loop writes it, test threads read and wait on it.
        self._changed = threading.Condition()
        self._messages: list[SandboxMessage] = []
        self._attempts = 0
        self._rate_limited = 0
        self._accepted: collections.deque[float] = collections.deque()  # monotonic times
        self._script: collections.deque[ScriptedResponse] = collections.deque()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.accounts = Accounts()
        self._open = threading.Event()  # cleared by hold(): requests wait until release()
        self._open.set()

    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve in a background thread with its own event loop; return once accepting."""
        if self._thread is not None:
            return self
        sock, ready = self._bind(), threading.Event()
        self._server = _Server(_config(self, log_level=None), ready)
        self._thread = threading.Thread(
            target=self._run, args=(sock, ready), name=THREAD_NAME, daemon=True
        )
        if not any(isinstance(f, _QuietLifecycle) for f in UVICORN_LOG.filters):
            UVICORN_LOG.addFilter(_QuietLifecycle())
        self._thread.start()
        if not ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError(f"sandbox did not start within {timeout}s: {self._error!r}")
        return self

    def _run(self, sock: socket.socket, ready: threading.Event) -> None:
        try:
            assert self._server is not None
            asyncio.run(self._server.serve(sockets=[sock]))
        except BaseException as exc:  # reported by start(); a thread must not die silently
            self._error = exc
        finally:
            sock.close()
            ready.set()

    def serve(self) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (the standalone process)."""
        sock = self._bind()
        print(f"sandbox Graph API on {self.url}", flush=True)  # a parent may read the port
        uvicorn.Server(_config(self, log_level="warning")).run(sockets=[sock])

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def attempts(self) -> int:
        """Send API requests received, whatever their answer."""
        with self._changed:
            return self._attempts

    @property
    def rate_limited(self) -> int:
        """Send API requests answered 429 for going over `rate_limit_per_second`."""
        with self._changed:
            return self._rate_limited

    def messages(self) -> list[SandboxMessage]:
        with self._changed:
            return list(self._messages)

    def script(self, *responses: ScriptedResponse | Mapping[str, Any]) -> int:
        """Queue answers for the next sends; returns how many are queued."""
        parsed = [
            r if isinstance(r, ScriptedResponse) else ScriptedResponse(**r) for r in responses
        ]
        with self._changed:
            self._script.extend(parsed)
            return len(self._script)

    def reset(self) -> None:
        with self._changed:
            self._messages.clear()
            self._attempts = 0
            self._rate_limited = 0
            self._accepted.clear()
            self._script.clear()
        self.accounts.reset()
        self._open.set()

    def hold(self) -> None:
        """Keep every Send API request in flight, once counted, until `release()`."""
        self._open.clear()

    def release(self) -> None:
        self._open.set()

    def wait_for_attempts(self, n: int, timeout: float = 10.0) -> int:
        """Send API requests received, once there are at least `n`; AssertionError at the
        deadline."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._attempts >= n, timeout):
                raise AssertionError(f"expected {n} requests in {timeout}s, got {self._attempts}")
            return self._attempts

    def wait_for_messages(self, n: int, timeout: float = 10.0) -> list[SandboxMessage]:
        """The recorded DMs once there are at least `n`; AssertionError at the deadline."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= n, timeout):
                got = len(self._messages)
                raise AssertionError(f"expected {n} DMs in {timeout}s, got {got}: {self._messages}")
            return list(self._messages)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The raw ASGI app: no framework, so a benchmark measures the service, not this."""
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/")
        raw = await _read_body(receive)
        parts = path.split("/")
        if raw is None:
            await _answer(send, 413, _graph_error("Request body too large", 100))
        elif path.startswith("/_sandbox/"):
            await _answer(send, *self._control(method, path, raw))
        elif method == "POST" and len(parts) >= 3 and parts[-1] == "messages" and parts[-2]:
            await self._send_api(send, dict(scope["headers"]), parts[-2], raw)
        elif self.accounts.handles(method, parts):
            headers = dict(scope["headers"])
            await _answer(
                send, *self.accounts.answer(method, parts, scope["query_string"], headers)
            )
        else:
            await _answer(send, 404, _graph_error(f"Unknown path {method} {path}", 803))

    async def _send_api(
        self, send: Any, headers: dict[bytes, bytes], scoped_id: str, raw: bytes
    ) -> None:
        arrived_at = _now()
        with self._changed:
            self._attempts += 1
            self._changed.notify_all()
            over = self._over_rate_limit()
        if over:
            return await _answer(
                send, 429, _graph_error("Application request limit reached", 4), {}
            )
        if not self._open.is_set():
            # Bounded, so that a test that never releases fails rather than hangs.
            await asyncio.get_running_loop().run_in_executor(None, self._open.wait, HOLD_SECONDS)
        await asyncio.sleep(self.latency_seconds)  # yields: other requests go on meanwhile
        auth = headers.get(b"authorization", b"")
        if not auth.startswith(b"Bearer ") or not auth[7:].strip():
            return await _answer(send, 400, _graph_error("Invalid OAuth access token", 190))
        if self.accounts.refused(auth[7:].strip().decode("latin-1")):
            return await _answer(send, 400, _graph_error("Error validating access token", 190))
        dm = _parse_dm(raw)
        if isinstance(dm, str):
            return await _answer(send, 400, _graph_error(dm, 100))
        with self._changed:
            scripted = self._script.popleft() if self._script else ScriptedResponse()
        if scripted.delay_seconds:
            await asyncio.sleep(scripted.delay_seconds)
        message = SandboxMessage(*dm, f"sandbox-{uuid.uuid4()}", _now(), scoped_id, arrived_at)
        if scripted.delivers:
            with self._changed:
                self._messages.append(message)
                self._changed.notify_all()
            # A verification link's token is a secret even here: the log shows it redacted,
            # and the full text only through GET /_sandbox/messages (the "inbox").
            log.info(
                "sandbox DM to %s (%s): %s",
                message.recipient_id,
                message.message_id,
                _TOKEN_IN_LINK.sub("token=<redacted>", message.text),
            )
        body = scripted.body
        if body is None and 200 <= scripted.status < 300:
            body = {"recipient_id": message.recipient_id, "message_id": message.message_id}
        await _answer(send, scripted.status, body, scripted.headers)

    def _over_rate_limit(self) -> bool:
        """Whether this send goes over the limit (else it counts against it); holds the lock."""
        if self.rate_limit_per_second <= 0:
            return False
        now = time.monotonic()
        while self._accepted and self._accepted[0] <= now - 1.0:
            self._accepted.popleft()
        if len(self._accepted) >= self.rate_limit_per_second:
            self._rate_limited += 1
            return True
        self._accepted.append(now)
        return False

    def _control(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        if (method, path) == ("GET", "/_sandbox/messages"):
            listed = [
                dataclasses.asdict(m)
                | {"received_at": m.received_at.isoformat(), "arrived_at": m.arrived_at.isoformat()}
                for m in self.messages()
            ]
            return 200, listed
        if (method, path) == ("GET", "/_sandbox/requests"):
            with self._changed:
                return 200, {
                    "attempts": self._attempts,
                    "delivered": len(self._messages),
                    "rate_limited": self._rate_limited,
                }
        if (method, path) == ("POST", "/_sandbox/reset"):
            self.reset()
            return 200, {"reset": True}
        if path in ("/_sandbox/accounts", "/_sandbox/revoke", "/_sandbox/unsubscribe"):
            try:
                document = json.loads(raw) if raw else None
            except ValueError:
                return 400, {"error": "the body must be JSON"}
            answered = self.accounts.control(method, path, document)
            if answered is not None:
                return answered
        if (method, path) == ("POST", "/_sandbox/rate-limit"):
            try:
                per_second = float(json.loads(raw)["per_second"])
            except (ValueError, TypeError, KeyError):
                return 400, {"error": 'the body must be {"per_second": <number>}'}
            with self._changed:
                self.rate_limit_per_second = per_second
                self._accepted.clear()
            return 200, {"per_second": per_second}
        if (method, path) == ("POST", "/_sandbox/script"):
            try:
                document = json.loads(raw)
                items = document if isinstance(document, list) else [document]
                return 200, {"scripted": self.script(*items)}
            except (ValueError, TypeError) as exc:
                return 400, {"error": f"bad script: {exc}"}
        return 404, {"error": f"unknown control endpoint {method} {path}"}

    def _bind(self) -> socket.socket:
        # Bound here, not by uvicorn, so the real port is known before serving (port 0).
        # IPPROTO_TCP named explicitly: asyncio sets TCP_NODELAY only on such sockets, and
        # without it each answer (headers, then body) waits 40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return sock


THREAD_NAME = "graph-sandbox"
# Every uvicorn server logs its start and stop here: in a process that serves more (`ingest
# dev`), the sandbox's lines read as the service's own, each said twice.
UVICORN_LOG = logging.getLogger("uvicorn.error")


class _QuietLifecycle(logging.Filter):
    """Drops the background sandbox's informational lines; its warnings still show."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME or record.levelno >= logging.WARNING


class _Server(uvicorn.Server):
    """uvicorn, announcing readiness on an Event so `start()` waits without polling."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


def _config(app: Sandbox, *, log_level: str | None) -> uvicorn.Config:
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


def _parse_dm(raw: bytes) -> tuple[str, str] | str:
    """(recipient_id, text), or why the body is not a valid text send."""
    try:
        document = json.loads(raw)
        recipient_id, text = document["recipient"]["id"], document["message"]["text"]
    except (ValueError, TypeError, KeyError):
        return "Body must be {recipient: {id}, message: {text}}"
    if not isinstance(recipient_id, str) or not recipient_id:
        return "recipient.id must be a non-empty string"
    if not isinstance(text, str) or not text:
        return "message.text must be a non-empty string"
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        return f"message.text is longer than {MAX_TEXT_BYTES} bytes"
    return recipient_id, text


_graph_error = graph_error


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


async def _read_body(receive: Any) -> bytes | None:
    body, more = b"", True
    while more:
        event = await receive()
        body += event.get("body", b"")
        if len(body) > MAX_BODY_BYTES:
            return None
        more = event.get("more_body", False)
    return body


async def _answer(
    send: Any, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> None:
    if isinstance(body, str) or body is None:
        payload, content_type = (body or "").encode(), b"text/plain; charset=utf-8"
    else:
        payload, content_type = json.dumps(body).encode(), b"application/json"
    raw_headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(payload))]
    raw_headers += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.sandbox", description=__doc__)
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--rate-limit", type=float, default=0.0, help="sends a second before 429 (0: none)"
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each DM")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    Sandbox(
        port=args.port,
        latency_seconds=args.latency_ms / 1000,
        rate_limit_per_second=args.rate_limit,
    ).serve()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
