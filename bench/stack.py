"""The processes under test, started with the project's own commands: the Graph API
stand-in (`python -m devtools.sandbox`), `ingest web --workers N`, `ingest worker` (N
processes) and, for the end-to-end baseline, the no-op procrastinate worker
(`python -m bench.noop_worker`). Everything is stopped on leaving, also on error or Ctrl-C.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bench.database import Database
from bench.errors import BenchError
from bench.options import Options
from bench.processes import Process, wait_until
from bench.server import ROOT
from service.core.settings import DEFAULT_VERIFY_URL_BASE
from workers.main import WORKERS_PER_PROCESS

SERVICE_TOKEN = "bench-service-token-0123456789abcdef"  # production wants 32+
# A Fernet key for the benchmark only: `ingest web` and `ingest worker` require one.
TOKEN_ENCRYPTION_KEY = "YmVuY2gtb25seS10b2tlbi1lbmNyeXB0aW9uLWtleS0="
APP_SECRET = "bench-app-secret-0123456789"
SCOPED_ID = "17841400000000001"
INGEST_PATH = "/api/internal/ingest-event"
WEBHOOK_PATH = "/api/webhooks/instagram"
START_SECONDS = 60


class Stack:
    def __init__(self, options: Options, db: Database, log_dir: Path) -> None:
        self.options = options
        self.db = db
        self.database_url = db.url
        self.log_dir = log_dir
        self.sandbox_url = ""
        self.web_url = ""
        self._sandbox: Process | None = None
        self._web: Process | None = None
        self.workers: list[Process] = []
        self._http = httpx.Client(timeout=10)

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop_workers()
        for process in (self._web, self._sandbox):
            if process is not None:
                process.stop()
        self._http.close()

    def env(self) -> dict[str, str]:
        """The service's environment, as `tests/support/stack.py` builds it, logging warnings
        only."""
        return {
            "DATABASE_URL": self.database_url,
            "INTERNAL_SERVICE_TOKEN": SERVICE_TOKEN,
            "INSTAGRAM_ACCESS_TOKEN": "bench-access-token-0123456789",
            "TOKEN_ENCRYPTION_KEY": TOKEN_ENCRYPTION_KEY,
            "INSTAGRAM_SCOPED_ID": SCOPED_ID,
            "INSTAGRAM_API_BASE_URL": self.sandbox_url,
            "INSTAGRAM_APP_SECRET": APP_SECRET,
            "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN": "bench-verify-token-0123456789",
            "VERIFY_URL_BASE": DEFAULT_VERIFY_URL_BASE,
            "INTERNAL_INGEST_URL": self.web_url + INGEST_PATH,
            "WORKER_CONCURRENCY": str(self.options.worker_concurrency),
            "WORKER_POLL_SECONDS": str(self.options.worker_poll_seconds),
            # Unpaced, but for figure 6 (`bench.send_pacing`): the other figures measure
            # the service against a Graph API without a rate limit.
            "GRAPH_SEND_RATE": "0",
            # No scheduled reconciliation among the figures: `bench.reconcile` runs its own.
            "RECONCILE_INTERVAL_SECONDS": "0",
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "WARNING",
        }

    def start_sandbox(self) -> None:
        port = _free_port()
        self._sandbox = self._start(
            "sandbox",
            "-m",
            "devtools.sandbox",
            "--port",
            str(port),
            "--latency-ms",
            str(self.options.graph_latency_ms),
            "--quiet",
        )
        self.sandbox_url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: _answers(self._http, f"{self.sandbox_url}/_sandbox/requests"),
            timeout=START_SECONDS,
            what="the Graph API stand-in",
            watch=[self._sandbox],
        )

    def start_web(self) -> None:
        port = _free_port()
        self.web_url = f"http://127.0.0.1:{port}"
        self._web = self._start(
            "web",
            "-m",
            "ingest.cli",
            "web",
            "--workers",
            str(self.options.web_processes),
            env={"HOST": "127.0.0.1", "PORT": str(port)},
        )
        wait_until(
            lambda: _answers(self._http, f"{self.web_url}/readyz"),
            timeout=START_SECONDS,
            what="ingest web",
            watch=[self._web],
        )

    def start_workers(self, env: dict[str, str] | None = None) -> None:
        """`ingest worker` processes; returns once each has registered with procrastinate."""
        self._start_workers(
            "worker", "-m", "ingest.cli", "worker", env=env, per_process=WORKERS_PER_PROCESS
        )

    def start_noop_workers(self) -> None:
        """The no-op baseline workers, with the same process count and settings."""
        self._start_workers("noop-worker", "-m", "bench.noop_worker")

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers = []

    def sandbox_counts(self) -> dict[str, int]:
        return self._http.get(f"{self.sandbox_url}/_sandbox/requests").json()

    def sandbox_messages(self) -> list[dict]:
        return self._http.get(f"{self.sandbox_url}/_sandbox/messages").json()

    def sandbox_rate_limit(self, per_second: float) -> None:
        """Make the stand-in answer 429 beyond `per_second` sends a second (0: no limit)."""
        self._http.post(
            f"{self.sandbox_url}/_sandbox/rate-limit", json={"per_second": per_second}
        ).raise_for_status()

    def sandbox_conversations(self, messages: list[dict] | None = None) -> dict[str, int]:
        """Record `messages` in the stand-in's conversations, if given; its counts."""
        url = f"{self.sandbox_url}/_sandbox/conversations"
        # In parts: the stand-in reads bodies of at most 64 KiB.
        for start in range(0, len(messages or ()), RECORDED_PER_POST):
            part = (messages or [])[start : start + RECORDED_PER_POST]
            body = {"account_id": SCOPED_ID, "messages": part}
            self._http.post(url, json=body, timeout=60).raise_for_status()
        return self._http.get(url).json()

    def sandbox_conversations_rate_limit(self, per_second: float) -> None:
        self._http.post(
            f"{self.sandbox_url}/_sandbox/conversations/rate-limit",
            json={"per_second": per_second},
        ).raise_for_status()

    def sandbox_reset(self) -> None:
        self._http.post(f"{self.sandbox_url}/_sandbox/reset").raise_for_status()

    def sandbox_account(self, ig_id: str, token: str, rate_limit: float) -> None:
        """Make the stand-in know an account: its token, and its own limit of sends a second
        (answered 429 beyond it). A reset forgets it."""
        self._http.post(
            f"{self.sandbox_url}/_sandbox/account",
            json={"ig_id": ig_id, "token": token, "rate_limit": rate_limit},
        ).raise_for_status()

    def add_account(self, ig_id: str, token: str) -> None:
        """`ingest account add`, as an operator adds an account; the stand-in must know it."""
        self._account_command("add", ig_id, stdin=f"{token}\n")

    def remove_account(self, ig_id: str) -> None:
        """`ingest account remove`: the account is no longer answered (or reconciled)."""
        self._account_command("remove", ig_id)

    def _account_command(self, command: str, ig_id: str, stdin: str = "") -> None:
        done = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "account", command, ig_id],
            input=stdin,
            env={**os.environ, **self.env()},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )
        if done.returncode != 0:
            raise BenchError(f"ingest account {command} {ig_id} failed: {done.stderr.strip()}")

    def _start_workers(
        self, name: str, *argv: str, env: dict[str, str] | None = None, per_process: int = 1
    ) -> None:
        """`count` processes, each registering `per_process` procrastinate workers."""
        before = self._registered_workers()
        count = self.options.worker_processes
        started = [
            self._start(f"{name}-{i}", *argv, role="workers", env=env) for i in range(1, count + 1)
        ]
        self.workers.extend(started)
        wait_until(
            lambda: self._registered_workers() >= before + count * per_process,
            timeout=START_SECONDS,
            what=f"{count} {name} processes",
            watch=started,
        )

    def _registered_workers(self) -> int:
        return self.db.one("count_workers")["n"]

    def roles(self) -> dict[int, str]:
        """The role of each running process group."""
        running = [p for p in (self._sandbox, self._web, *self.workers) if p is not None]
        return {p.popen.pid: p.role for p in running}

    def _start(
        self, name: str, *argv: str, role: str | None = None, env: dict[str, str] | None = None
    ) -> Process:
        return Process(
            name,
            role or name,
            [sys.executable, *argv],
            {**self.env(), **(env or {})},
            self.log_dir,
            ROOT,
        )


RECORDED_PER_POST = 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(http: httpx.Client, url: str) -> bool:
    try:
        return http.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False
