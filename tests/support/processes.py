"""The service's processes as real subprocesses (`ingest web`, `ingest worker`), for tests
that start, kill and restart them. Output goes to a file, shown when a test fails."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.pg import ROOT
from workers.main import WORKERS_PER_PROCESS

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], *, timeout: float = 15.0, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# How a test runs `ingest`: this interpreter, on the checkout.
INGEST = (sys.executable, "-m", "ingest.cli")


class ServiceProcess:
    def __init__(
        self,
        command: str,
        env: dict[str, str],
        *,
        ingest: Sequence[str] = INGEST,
        cwd: Path = ROOT,
        inherit_env: bool = True,
    ) -> None:
        """`ingest COMMAND`, run as `ingest` says (another install's console script, say)
        in `cwd`, with `env` over this process's environment unless `inherit_env` is off."""
        self.command = command
        self.env = {**os.environ, **env} if inherit_env else dict(env)
        self.ingest = list(ingest)
        self.cwd = cwd
        self.log = tempfile.NamedTemporaryFile(prefix=f"{command}-", suffix=".log", delete=False)
        self.process: subprocess.Popen | None = None
        # A worker process's procrastinate workers (`workers.main`): one for the messages'
        # jobs, one for the other queues.
        self.worker_ids: list[int] = []

    def start(self, ready: Callable[[], bool], *, timeout: float = 60) -> ServiceProcess:
        self.process = subprocess.Popen(
            [*self.ingest, self.command],
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

        def started() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.command} exited with {self.process.returncode}:\n{self.output()}"
                )
            return ready()

        wait_until(started, timeout=timeout, what=f"{self.command} to start")
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then wait for the exit; returns the exit code."""
        if self.alive:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"{self.command} ignored SIGTERM for {timeout}s") from None
        return self.process.returncode

    def close(self) -> None:
        if self.alive:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")


def start_worker(env: dict[str, str], db, **how: Any) -> ServiceProcess:
    """A worker, ready once its procrastinate workers have registered themselves (worker
    ids newer than any before), their ids kept as `worker_ids`. `how`: as `ServiceProcess`
    takes it."""
    newest = db.execute("SELECT coalesce(max(id), 0) AS id FROM procrastinate_workers").fetchone()

    def registered() -> list[int]:
        rows = db.execute(
            "SELECT id FROM procrastinate_workers WHERE id > %s ORDER BY id", (newest["id"],)
        ).fetchall()
        return [row["id"] for row in rows]

    worker = ServiceProcess("worker", env, **how)
    worker.start(lambda: len(registered()) >= WORKERS_PER_PROCESS)
    worker.worker_ids = registered()
    return worker


def start_web(env: dict[str, str], **how: Any) -> tuple[ServiceProcess, str]:
    """`ingest web` on a free loopback port; returns it and its base URL. `how`: as
    `ServiceProcess` takes it."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    web = ServiceProcess("web", {**env, "HOST": "127.0.0.1", "PORT": str(port)}, **how)

    def answers() -> bool:
        try:
            return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    return web.start(answers), url
