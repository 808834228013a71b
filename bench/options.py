"""The run's settings: command-line flags over two presets, the full run and the smoke run.

Worker concurrency and poll interval default to the service's own defaults, so the benchmark
measures the service as it ships; the process counts default to what suits two cores.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from typing import Any

import bench
from service.core.settings import Settings

_SERVICE = Settings(database_url="")
# The report's figures, by the names `--only` takes, in the report's order.
FIGURES = (
    "ingest_rate",
    "ingest_latency",
    "end_to_end",
    "send_pacing",
    "accounts_at_pace",
    "idle_latency",
    "big_ingest",
    "big_claim",
    "half_rate_big",
    "meta_delivery",
    "rss",
    "cpu_per_message",
    "reconcile",
)


def _flag(full: object, smoke: object, help: str) -> Any:
    """A sized setting: its value in the full run, in the smoke run, and its help."""
    return dataclasses.field(default=full, metadata={"smoke": smoke, "help": help})


@dataclasses.dataclass(frozen=True, kw_only=True)
class Options:
    smoke: bool = False
    keep_database: bool = False
    loader: str = "auto"
    json_out: str | None = None
    only: tuple[str, ...] = ()  # figures to run (and what they need); empty: all
    dbname: str = _flag(
        "reeva_bench",
        "reeva_bench_smoke",
        "the benchmark's own database, dropped and created again each run",
    )
    web_processes: int = _flag(2, 1, "uvicorn processes of `ingest web`")
    worker_processes: int = _flag(2, 1, "`ingest worker` processes (and no-op baseline ones)")
    worker_concurrency: int = _flag(
        _SERVICE.worker_concurrency, 4, "WORKER_CONCURRENCY of each worker"
    )
    worker_poll_seconds: float = _flag(
        _SERVICE.worker_poll_seconds,
        _SERVICE.worker_poll_seconds,
        "WORKER_POLL_SECONDS of each worker",
    )
    graph_latency_ms: float = _flag(50.0, 50.0, "the Graph API stand-in's answer latency")
    duration: float = _flag(10.0, 1.0, "seconds of each load run (wrk, pgbench)")
    warmup: float = _flag(3.0, 0.5, "seconds of unmeasured load before the first figure")
    load_threads: int = _flag(2, 1, "wrk threads")
    load_connections: int = _flag(32, 8, "connections of the full-speed runs")
    paced_rate: float = _flag(1000.0, 200.0, "requests per second of the latency runs")
    paced_connections: int = _flag(16, 4, "connections of the latency runs")
    pgbench_clients: int = _flag(8, 2, "pgbench clients of the ingest baseline")
    messages: int = _flag(20_000, 200, "messages processed end to end (and no-op jobs)")
    paced_sends: int = _flag(2_000, 100, "DMs of the burst paced under Meta's rate (figure 6)")
    send_rate: float = _flag(80.0, 20.0, "GRAPH_SEND_RATE of figure 6's workers")
    send_burst: int = _flag(20, 5, "GRAPH_SEND_BURST of figure 6's workers")
    accounts_steps: str = _flag(
        "1,2,4,6,8",
        "1,2",
        "the numbers of accounts figure 11 tries, in turn, until one is not served",
    )
    account_seconds: float = _flag(
        30.0, 3.0, "seconds each account is sent GRAPH_SEND_RATE messages a second (figure 11)"
    )
    meta_events: int = _flag(1_000, 100, "messaging events in figure 7's one Meta delivery")
    idle_messages: int = _flag(200, 10, "single webhook deliveries of the idle latency")
    big_rows: int = _flag(10_000_000, 3_000, "rows added to messages and to jobs (figure 5)")
    claims: int = _flag(2_000, 100, "job claims timed, on the empty and the big tables")
    reconcile_conversations: int = _flag(
        1_000, 20, "conversations, each with a lost message, reconciled (figure 10)"
    )

    def settings(self) -> dict[str, object]:
        """What the report prints as the run's settings."""
        return {f.name: getattr(self, f.name) for f in _sized()}


def _sized() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(Options) if "smoke" in f.metadata]


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=bench.__doc__)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes and durations: checks the harness in seconds",
    )
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="leave the database for inspection (it is dropped by default)",
    )
    parser.add_argument(
        "--loader",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="HTTP load tool; auto: wrk, or (smoke run only) a Python loader where wrk is missing",
    )
    parser.add_argument(
        "--json-out", default=None, help="where to write the results as JSON (default: .bench/)"
    )
    parser.add_argument(
        "--only",
        default="",
        metavar="NAME[,NAME]",
        help="run only these figures (and the measurements they need); the others' rows "
        "say `not run`. Names: " + ", ".join(FIGURES),
    )
    for field in _sized():
        full, smoke = field.default, field.metadata["smoke"]
        parser.add_argument(
            "--" + field.name.replace("_", "-"),
            type=type(full),
            default=None,
            help=f"{field.metadata['help']} (default {full}; smoke {smoke})",
        )
    values = vars(parser.parse_args(argv))
    values["only"] = tuple(name.strip() for name in values["only"].split(",") if name.strip())
    unknown = [name for name in values["only"] if name not in FIGURES]
    if unknown:
        parser.error(
            f"--only: no figure named {', '.join(unknown)}; the names: {', '.join(FIGURES)}"
        )
    for field in _sized():
        if values[field.name] is None:
            values[field.name] = field.metadata["smoke"] if values["smoke"] else field.default
    return Options(**values)
