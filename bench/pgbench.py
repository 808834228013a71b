"""pgbench running the ingest endpoint's transaction (`bench/sql/pgbench/`): what Postgres
alone does on this machine, the ingest figure's baseline."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import time
from pathlib import Path

from bench.errors import BenchError
from bench.queries import PGBENCH_INGEST

_TPS = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)
_DONE = re.compile(r"^number of transactions actually processed: (\d+)", re.MULTILINE)
_FAILED = re.compile(r"^number of failed transactions: (\d+)", re.MULTILINE)
TRANSACTIONS_TIMEOUT = 120


@dataclasses.dataclass(frozen=True)
class PgbenchResult:
    clients: int
    seconds: float  # the run's wall time, from starting pgbench to its exit
    transactions: int
    failed: int
    per_second: float


def run(
    binary: str, database_url: str, *, clients: int, seconds: float, run_id: str, output: Path
) -> PgbenchResult:
    """For `seconds` (whole seconds): the ingest figure's baseline."""
    whole_seconds = max(1, round(seconds))
    return _pgbench(
        binary,
        database_url,
        clients=clients,
        limit=f"--time={whole_seconds}",
        timeout=whole_seconds + 60,
        run_id=run_id,
        output=output,
    )


def run_transactions(
    binary: str, database_url: str, *, clients: int, transactions: int, run_id: str, output: Path
) -> PgbenchResult:
    """`transactions` in all, shared by the clients: the time Postgres alone takes for as
    many ingest transactions as a Meta delivery carries events."""
    return _pgbench(
        binary,
        database_url,
        clients=clients,
        limit=f"--transactions={max(1, transactions // clients)}",
        timeout=TRANSACTIONS_TIMEOUT,
        run_id=run_id,
        output=output,
    )


def _pgbench(
    binary: str,
    database_url: str,
    *,
    clients: int,
    limit: str,
    timeout: float,
    run_id: str,
    output: Path,
) -> PgbenchResult:
    """Prepared statements, like psycopg's after a few runs of a query; durable commits."""
    argv = [
        binary,
        "--no-vacuum",
        "--protocol=prepared",
        f"--client={clients}",
        f"--jobs={min(clients, os.cpu_count() or 1)}",
        limit,
        f"--file={PGBENCH_INGEST}",
        "--define",
        f"run={run_id}",
        "--define",
        "k=0",
        database_url,
    ]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    wall = time.monotonic() - started
    text = done.stdout + done.stderr
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    tps, transactions = _TPS.search(text), _DONE.search(text)
    if done.returncode != 0 or tps is None or transactions is None:
        raise BenchError(
            f"pgbench failed (exit {done.returncode}); its output is in {output}:\n{text[-2000:]}"
        )
    failed = _FAILED.search(text)
    return PgbenchResult(
        clients=clients,
        seconds=round(wall, 3),
        transactions=int(transactions[1]),
        failed=int(failed[1]) if failed else 0,
        per_second=float(tps[1]),
    )
