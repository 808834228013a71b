"""A loopback stand-in for the Graph API Send API, for `ingest dev`, tests and benchmarks.

`POST /{scoped_id}/messages` (after any path prefix, e.g. `/v24.0`) checks the bearer token and
the body, records the DM and answers like Meta. Tests script failures: each send consumes the
next scripted response, if any; a scripted non-2xx records nothing (set `deliver` to model
"sent, yet an error"). Control endpoints for other processes: `GET /_sandbox/messages`,
`GET /_sandbox/requests`, `POST /_sandbox/script` (one response or a list), `POST /_sandbox/reset`.

In-process: `with Sandbox(latency_seconds=0.05) as sandbox: ... sandbox.url ...`.
Standalone: `python -m service.sandbox --port 8900 --latency-ms 50`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import dataclasses
import datetime
import json
import logging
import socket
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn

log = logging.getLogger("sandbox")
MAX_BODY_BYTES = 64 * 1024
MAX_TEXT_BYTES = 1000  # mirrors service.instagram.MAX_TEXT_BYTES, checked here as Meta does


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


class SandboxState:
    """What the sandbox saw; shared by the server's loop and the test's thread."""

    def __init__(self, latency_seconds: float = 0.0) -> None:
        self.latency_seconds = latency_seconds
        self.changed = threading.Condition()
        self.messages: list[SandboxMessage] = []
        self.attempts = 0
        self.script: collections.deque[ScriptedResponse] = collections.deque()

    def reset(self) -> None:
        with self.changed:
            self.messages.clear()
            self.attempts = 0
            self.script.clear()
            self.changed.notify_all()


class SandboxApp:
    """The raw ASGI app: no framework, so a benchmark measures the service, not the sandbox."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        method, path = scope["method"], scope["path"].rstrip("/")
        body = await _read_body(receive)
        if body is None:
            return await _answer(send, 413, _graph_error("Request body too large", 100))
        parts = path.split("/")
        if path.startswith("/_sandbox/"):
            return await self._control(send, method, path, body)
        if method == "POST" and len(parts) >= 3 and parts[-1] == "messages" and parts[-2]:
            return await self._send_api(send, scope, parts[-2], body)
        return await _answer(send, 404, _graph_error(f"Unknown path {method} {path}", 803))

    async def _send_api(self, send: Any, scope: dict[str, Any], scoped_id: str, raw: bytes) -> None:
        state = self.state
        with state.changed:
            state.attempts += 1
        await asyncio.sleep(state.latency_seconds)  # yields: other requests go on meanwhile
        auth = dict(scope["headers"]).get(b"authorization", b"")
        if not auth.startswith(b"Bearer ") or not auth[7:].strip():
            return await _answer(send, 400, _graph_error("Invalid OAuth access token", 190))
        dm = _parse_dm(raw)
        if isinstance(dm, str):
            return await _answer(send, 400, _graph_error(dm, 100))
        recipient_id, text = dm
        with state.changed:
            scripted = state.script.popleft() if state.script else ScriptedResponse()
        if scripted.delay_seconds:
            await asyncio.sleep(scripted.delay_seconds)
        message_id = f"sandbox-{uuid.uuid4()}"
        if scripted.delivers:
            message = SandboxMessage(
                recipient_id, text, message_id, datetime.datetime.now(datetime.UTC), scoped_id
            )
            with state.changed:
                state.messages.append(message)
                state.changed.notify_all()
            log.info("sandbox DM to %s (%s): %s", recipient_id, message_id, text)
        body = scripted.body
        if body is None and 200 <= scripted.status < 300:
            body = {"recipient_id": recipient_id, "message_id": message_id}
        await _answer(send, scripted.status, body, scripted.headers)

    async def _control(self, send: Any, method: str, path: str, raw: bytes) -> None:
        state = self.state
        if (method, path) == ("GET", "/_sandbox/messages"):
            with state.changed:
                listed = [dataclasses.asdict(m) for m in state.messages]
            for item in listed:
                item["received_at"] = item["received_at"].isoformat()
            return await _answer(send, 200, listed)
        if (method, path) == ("GET", "/_sandbox/requests"):
            return await _answer(send, 200, {"attempts": state.attempts})
        if (method, path) == ("POST", "/_sandbox/reset"):
            state.reset()
            return await _answer(send, 200, {"reset": True})
        if (method, path) == ("POST", "/_sandbox/script"):
            try:
                document = json.loads(raw)
                items = document if isinstance(document, list) else [document]
                responses = [ScriptedResponse(**item) for item in items]
            except (ValueError, TypeError) as exc:
                return await _answer(send, 400, {"error": f"bad script: {exc}"})
            with state.changed:
                state.script.extend(responses)
                queued = len(state.script)
            return await _answer(send, 200, {"scripted": queued})
        return await _answer(send, 404, {"error": f"unknown control endpoint {method} {path}"})


def _parse_dm(raw: bytes) -> tuple[str, str] | str:
    """(recipient_id, text), or the reason the body is not a valid text send."""
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


def _graph_error(message: str, code: int) -> dict[str, Any]:
    error_type = "OAuthException" if code == 190 else "IGApiException"
    trace = uuid.uuid4().hex[:12]
    return {"error": {"message": message, "type": error_type, "code": code, "fbtrace_id": trace}}


async def _read_body(receive: Any) -> bytes | None:
    chunks, size, more = [], 0, True
    while more:
        event = await receive()
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        more = event.get("more_body", False)
    return b"".join(chunks)


async def _answer(
    send: Any, status: int, body: Any, headers: Mapping[str, str] | None = None
) -> None:
    if isinstance(body, str):
        payload, content_type = body.encode(), b"text/plain; charset=utf-8"
    elif body is None:
        payload, content_type = b"", b"text/plain; charset=utf-8"
    else:
        payload, content_type = json.dumps(body).encode(), b"application/json"
    raw_headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(payload))]
    raw_headers += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._ready.set()


class Sandbox:
    """The sandbox on 127.0.0.1 in a background thread, with its own event loop."""

    def __init__(self, *, latency_seconds: float = 0.0, port: int = 0) -> None:
        self.state = SandboxState(latency_seconds)
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve on 127.0.0.1 (a free port unless one was given); return once accepting."""
        if self._thread is not None:
            return self
        sock = _bind("127.0.0.1", self._port)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        ready = threading.Event()
        self._server = _Server(_config(SandboxApp(self.state), log_level=None), ready)
        self._thread = threading.Thread(target=self._run, args=(sock, ready), name="sandbox")
        self._thread.daemon = True
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
        with self.state.changed:
            return self.state.attempts

    def messages(self) -> list[SandboxMessage]:
        with self.state.changed:
            return list(self.state.messages)

    def script(self, *responses: ScriptedResponse | Mapping[str, Any]) -> None:
        parsed = [r if isinstance(r, ScriptedResponse) else ScriptedResponse(**r) for r in responses]
        with self.state.changed:
            self.state.script.extend(parsed)

    def reset(self) -> None:
        self.state.reset()

    def wait_for_messages(self, n: int, timeout: float = 10.0) -> list[SandboxMessage]:
        """The recorded DMs once there are at least `n`; AssertionError at the deadline."""
        with self.state.changed:
            if not self.state.changed.wait_for(lambda: len(self.state.messages) >= n, timeout):
                raise AssertionError(
                    f"expected {n} DMs within {timeout}s, got {len(self.state.messages)}: "
                    f"{self.state.messages!r}"
                )
            return list(self.state.messages)


def _bind(host: str, port: int) -> socket.socket:
    # Bound here, not by uvicorn, so that the real port is known before serving (port 0).
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and
    # without it every answer (headers, then body) waits 40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def _config(app: SandboxApp, *, log_level: str | None) -> uvicorn.Config:
    # log_config=None: never reconfigure the host process's logging (`ingest dev`, pytest).
    return uvicorn.Config(
        app, lifespan="off", ws="none", log_config=None, log_level=log_level,
        timeout_graceful_shutdown=2, server_header=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900, help="0 picks a free port")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    sock = _bind(args.host, args.port)
    log.info("sandbox Graph API on http://%s:%d", args.host, sock.getsockname()[1])
    config = _config(SandboxApp(SandboxState(args.latency_ms / 1000)), log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
