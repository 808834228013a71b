"""Child processes of the benchmark, and waiting on conditions with deadlines.

Each child runs in a session of its own, so that stopping it stops everything it started
(`ingest web --workers N` forks its uvicorn processes); its output goes to a log file
under `.bench/logs/`, whose tail is shown when it fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from bench.errors import BenchError

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float,
    what: str,
    interval: float = 0.05,
    watch: Sequence[Process] = (),
) -> T:
    """Poll `predicate` until it returns something truthy; BenchError at the deadline or
    as soon as a watched process exits."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        for process in watch:
            process.check_running()
        if time.monotonic() > deadline:
            raise BenchError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


class Process:
    def __init__(
        self,
        name: str,
        role: str,
        argv: Sequence[str],
        env: dict[str, str],
        log_dir: Path,
        cwd: Path,
    ) -> None:
        self.name = name
        self.role = role  # what it is, for the CPU figures: its process group's name
        self.log_path = log_dir / f"{name}.log"
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.popen = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def check_running(self) -> None:
        if self.popen.poll() is not None:
            raise BenchError(
                f"{self.name} exited with {self.popen.returncode}; "
                f"the end of {self.log_path}:\n{self.tail()}"
            )

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to its process group, then SIGKILL if it outlives `timeout`."""
        if self.popen.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._signal(signal.SIGKILL)  # what it forked may outlive it
        self.popen.wait()

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 30) -> str:
        return "\n".join(self.output().splitlines()[-lines:])
