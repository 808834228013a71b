"""A loopback stand-in for the Graph API Send API, for `ingest dev`, tests and benchmarks.

`POST /{scoped_id}/messages` (after any path prefix, e.g. `/v24.0`) checks the bearer token and
the body, records the DM and answers like Meta. Tests script failures: each valid send consumes
the next scripted response, if any; a scripted non-2xx records nothing (set `deliver` to model
"sent, yet an error"). Control endpoints for other processes: `GET /_sandbox/messages`,
`GET /_sandbox/requests` (counts: Send API requests, DMs recorded), `POST /_sandbox/script` (one
or a list), `POST /_sandbox/rate-limit` (`{"per_second": N}`), `POST /_sandbox/reset`. Each DM
records when its request arrived (`arrived_at`, before the latency) and was answered
(`received_at`). A test that needs a send to stay in flight calls `hold()`: requests are
counted, then wait until `release()` (`wait_for_attempts(n)` tells when they have arrived).

Meta's rate limit, per account: with `rate_limit_per_second` (`--rate-limit`, or an account's
own), a send arriving when that many to its account were accepted within the second before is
answered 429 (Graph code 4) and recorded nowhere but in the count of `rate_limited`. The
accounts, their tokens, their endpoints (`GET /me`, token refresh, webhook subscriptions) and
a revoked token's code 190: `sandbox.accounts`; the Conversations API, and webhooks it loses:
`sandbox.conversations`; reads of a profile or a message: `sandbox.objects`.
In-process: `with Sandbox(latency_seconds=0.05) as sandbox: ... sandbox.url ...`.
Standalone: `python -m devtools.sandbox --port 8900 --latency-ms 50` (`--port 0`: a free port).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import re
import socket
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn

from devtools import sandbox_http, sandbox_profiles
from devtools.sandbox_accounts import Accounts, graph_error
from devtools.sandbox_control import control
from devtools.sandbox_conversations import Conversations
from devtools.sandbox_dms import SandboxMessage, ScriptedResponse, now, parse_dm
from devtools.sandbox_http import answer
from devtools.sandbox_limits import RateWindow

__all__ = ["Sandbox", "SandboxMessage", "ScriptedResponse"]

log = logging.getLogger("sandbox")
_TOKEN_IN_LINK = re.compile(r"token=[^&\s]+")
HOLD_SECONDS = 60.0  # the longest a held request waits for release()


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
        self._windows: dict[str, RateWindow] = {}  # per account
        self._script: collections.deque[ScriptedResponse] = collections.deque()
        self._server: sandbox_http.ReadyServer | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.accounts, self.objects = Accounts(), sandbox_profiles.Objects()
        self.conversations = Conversations(self.accounts.is_revoked)
        self._open = threading.Event()  # cleared by hold(): requests wait until release()
        self._open.set()

    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve in a background thread with its own event loop; return once accepting."""
        if self._thread is not None:
            return self
        sock, ready = self._bind(), threading.Event()
        self._server = sandbox_http.ReadyServer(sandbox_http.config(self, log_level=None), ready)
        self._thread = threading.Thread(
            target=self._run, args=(sock, ready), name=sandbox_http.THREAD_NAME, daemon=True
        )
        sandbox_http.quiet_lifecycle_lines()
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
        uvicorn.Server(sandbox_http.config(self, log_level="warning")).run(sockets=[sock])

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

    def counts(self) -> dict[str, int]:
        """Send API requests received, DMs recorded, and requests over the rate limit."""
        with self._changed:
            return {
                "attempts": self._attempts,
                "delivered": len(self._messages),
                "rate_limited": self._rate_limited,
            }

    def limit_rate(self, per_second: float) -> None:
        """Answer 429 to a send over `per_second` within the second before it (0: none)."""
        with self._changed:
            self.rate_limit_per_second = per_second
            self._windows.clear()

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
            self._attempts = self._rate_limited = 0
            self._windows.clear()
            self._script.clear()
        self.accounts.reset()
        self.objects.reset()
        self.conversations.reset()
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
        raw = await sandbox_http.read_body(receive)
        parts, headers = path.split("/"), dict(scope["headers"])
        if raw is None:
            await answer(send, 413, graph_error("Request body too large", 100))
        elif path.startswith("/_sandbox/"):
            await answer(send, *control(self, method, path, raw))
        elif method == "POST" and len(parts) >= 3 and parts[-1] == "messages" and parts[-2]:
            await self._send_api(send, dict(scope["headers"]), parts[-2], raw)
        elif self.conversations.handles(method, parts):
            await answer(send, *self.conversations.answer(parts, scope["query_string"], headers))
        elif read := sandbox_profiles.route(self.accounts, self.objects, method, parts, scope):
            await answer(send, *read)
        else:
            await answer(send, 404, graph_error(f"Unknown path {method} {path}", 803))

    async def _send_api(
        self, send: Any, headers: dict[bytes, bytes], scoped_id: str, raw: bytes
    ) -> None:
        arrived_at = now()
        with self._changed:
            self._attempts += 1
            self._changed.notify_all()
            over = self._over_rate_limit(scoped_id)
        if over:
            return await answer(send, 429, graph_error("Application request limit reached", 4), {})
        if not self._open.is_set():
            # Bounded, so that a test that never releases fails rather than hangs.
            await asyncio.get_running_loop().run_in_executor(None, self._open.wait, HOLD_SECONDS)
        await asyncio.sleep(self.latency_seconds)  # yields: other requests go on meanwhile
        auth = headers.get(b"authorization", b"")
        if not auth.startswith(b"Bearer ") or not auth[7:].strip():
            return await answer(send, 400, graph_error("Invalid OAuth access token", 190))
        if self.accounts.refused(auth[7:].strip().decode("latin-1"), scoped_id):
            return await answer(send, 400, graph_error("Error validating access token", 190))
        dm = parse_dm(raw)
        if isinstance(dm, str):
            return await answer(send, 400, graph_error(dm, 100))
        with self._changed:
            scripted = self._script.popleft() if self._script else ScriptedResponse()
        if scripted.delay_seconds:
            await asyncio.sleep(scripted.delay_seconds)
        message = SandboxMessage(*dm, f"sandbox-{uuid.uuid4()}", now(), scoped_id, arrived_at)
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
        await answer(send, scripted.status, body, scripted.headers)

    def _over_rate_limit(self, scoped_id: str) -> bool:
        """Whether this send goes over its account's limit (else it counts against it);
        holds the lock."""
        limit = self.accounts.rate_limits.get(scoped_id, self.rate_limit_per_second)
        over = self._windows.setdefault(scoped_id, RateWindow()).over(limit)
        self._rate_limited += over
        return over

    def _bind(self) -> socket.socket:
        sock = sandbox_http.bind(self._port)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        return sock


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
