"""What every figure works with: the options, the database, the running processes, the
load tool, and a progress line on stderr (stdout is for the report)."""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import pyload, wrk
from bench.cpu import Meter
from bench.database import Database
from bench.errors import BenchError
from bench.load import LoadPlan, LoadResult
from bench.options import Options
from bench.stack import SERVICE_TOKEN, Stack


@dataclasses.dataclass
class Harness:
    options: Options
    db: Database
    stack: Stack
    log_dir: Path
    tool: str  # "wrk" or "python"
    pgbench: str | None
    started: float = dataclasses.field(default_factory=time.monotonic)
    cpu: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)

    @contextlib.contextmanager
    def measuring(self, name: str) -> Iterator[None]:
        """Record the cores each role used during the block, as measurement `name`."""
        meter = Meter(self.stack.roles)
        with meter:
            yield
        self.cpu[name] = {
            "cores": meter.cores,
            "by_process": meter.processes,
            "seconds": meter.seconds,
        }

    def cpu_seconds(self, name: str, roles: tuple[str, ...]) -> float:
        """CPU seconds `roles` used in all during measurement `name` (0 without /proc)."""
        m = self.cpu[name]
        return round(sum(m["cores"].get(role, 0.0) for role in roles) * m["seconds"], 3)

    def load(self, plan: LoadPlan) -> LoadResult:
        if self.tool == "wrk":
            return wrk.run(
                self.stack.web_url, SERVICE_TOKEN, plan, self.log_dir / f"wrk-{plan.prefix}.txt"
            )
        return pyload.run(self.stack.web_url, SERVICE_TOKEN, plan)

    def progress(self, message: str) -> None:
        elapsed = int(time.monotonic() - self.started)
        print(
            f"[bench {elapsed // 60:02d}:{elapsed % 60:02d}] {message}", file=sys.stderr, flush=True
        )

    def quiet(self) -> None:
        """Start a measurement from a clean slate: empty tables, nothing dirty to flush."""
        self.db.reset()
        self.db.run("checkpoint")


def choose_tool(options: Options) -> str:
    """wrk; a smoke run falls back to the Python loader where wrk is missing."""
    if options.loader == "python":
        if not options.smoke:
            raise BenchError("the Python loader is for smoke runs only; the benchmark uses wrk")
        return "python"
    if wrk.available():
        return "wrk"
    if options.smoke and options.loader == "auto":
        return "python"
    raise BenchError(wrk.INSTALL_HINT)
