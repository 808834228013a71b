"""The report: one row per figure (measured | baseline in the same run | target | met?),
the run's settings and machine, as markdown for the terminal and as JSON for RESULTS.md."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from bench.options import Options

INGEST_PGBENCH_RATIO = 0.6
INGEST_P99_MS = 25
END_TO_END_NOOP_RATIO = 0.6
IDLE_P50_MS = 30
BIG_TABLES_RATIO = 1.2
PACED_RATE_SHARE = 0.9

CPU_ORDER = [
    "web",
    "workers",
    "sandbox",
    "postgres",
    "load tool",
    "harness",
    "other",
    "machine busy",
]
# (measured, baseline, met) from a figure's results
Judge = Callable[..., tuple[str, str, bool]]


@dataclasses.dataclass(frozen=True)
class Row:
    figure: str
    measured: str
    baseline: str
    target: str
    met: bool | None  # None: not measured


def rows(results: dict[str, Any], options: Options) -> list[Row]:
    rate = f"~{options.paced_rate:,.0f}/s"
    big = _count(options.big_rows)
    return [
        _row(
            results,
            ["ingest_rate"],
            "ingest-event accepted/s (full load)",
            f">= {INGEST_PGBENCH_RATIO}x pgbench",
            _ingest_rate,
        ),
        _row(
            results,
            ["ingest_latency"],
            f"ingest-event latency p50 / p99, paced at {rate}",
            f"p99 <= {INGEST_P99_MS} ms",
            _ingest_latency,
        ),
        _row(
            results,
            ["end_to_end"],
            "messages fully processed/s, end to end",
            f">= {END_TO_END_NOOP_RATIO}x no-op jobs/s",
            _end_to_end,
        ),
        _row(
            results,
            ["send_pacing"],
            f"a burst of {options.paced_sends:,} DMs paced, the stand-in refusing over 100/s",
            f"0 answered 429, all sent, >= {PACED_RATE_SHARE:.0%} of GRAPH_SEND_RATE",
            _send_pacing,
        ),
        _row(
            results,
            ["idle_latency"],
            "idle latency p50 / p99, webhook -> DM at stand-in",
            f"p50 <= {IDLE_P50_MS} ms",
            _idle_latency,
        ),
        _row(
            results,
            ["ingest_latency", "ingest_latency_big"],
            f"ingest p99 at {rate} with {big} messages + {big} finished jobs",
            f"within {BIG_TABLES_RATIO}x",
            _big_ingest,
        ),
        _row(
            results,
            ["claim_empty", "claim_big"],
            f"job claim p50 / p99 with {big} messages + {big} finished jobs",
            f"within {BIG_TABLES_RATIO}x",
            _big_claim,
        ),
    ]


def _row(results: dict[str, Any], keys: list[str], figure: str, target: str, judge: Judge) -> Row:
    parts = [results.get(key) or {"error": "not measured"} for key in keys]
    failed = next((part["error"] for part in parts if "error" in part), None)
    if failed is not None:
        return Row(figure, f"failed: {failed.splitlines()[0]}", "", target, None)
    measured, baseline, met = judge(*parts)
    return Row(figure, measured, baseline, target, met)


def _ingest_rate(r: dict) -> tuple[str, str, bool]:
    ours, pgbench = r["service"], r["pgbench"]
    rate = ours["accepted_per_second"]
    if pgbench is None:
        return f"{rate:,.0f}/s{_errors(ours)}", "pgbench not found", False
    ratio = rate / pgbench["per_second"]
    return (
        f"{rate:,.0f}/s = {ratio:.2f}x pgbench{_errors(ours)}",
        f"pgbench {pgbench['per_second']:,.0f}/s ({pgbench['clients']} clients)",
        ratio >= INGEST_PGBENCH_RATIO and not ours["errors"],
    )


def _ingest_latency(r: dict) -> tuple[str, str, bool]:
    return (
        f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms at "
        f"{r['requests_per_second']:,.0f}/s{_errors(r)}",
        "—",
        r["p99_ms"] <= INGEST_P99_MS and not r["errors"],
    )


def _end_to_end(r: dict) -> tuple[str, str, bool]:
    ours, noop = r["service"], r["noop"]
    ratio = ours["per_second"] / noop["per_second"]
    return (
        f"{ours['per_second']:,.0f}/s = {ratio:.2f}x no-op "
        f"({ours['jobs_or_messages']:,} in {ours['seconds']:.1f} s)",
        f"no-op jobs {noop['per_second']:,.0f}/s",
        ratio >= END_TO_END_NOOP_RATIO,
    )


def _send_pacing(r: dict) -> tuple[str, str, bool]:
    return (
        f"{r['per_second']:,.1f}/s, {r['answered_429']:,} answered 429, "
        f"{r['delivered']:,} of {r['dms']:,} sent",
        f"GRAPH_SEND_RATE {r['configured_per_second']:g}/s",
        r["answered_429"] == 0
        and r["delivered"] == r["dms"]
        and r["per_second"] >= PACED_RATE_SHARE * r["configured_per_second"],
    )


def _idle_latency(r: dict) -> tuple[str, str, bool]:
    return (
        f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms ({r['messages']} messages)",
        "—",
        r["p50_ms"] <= IDLE_P50_MS,
    )


def _big_ingest(empty: dict, big: dict) -> tuple[str, str, bool]:
    ratio = big["p99_ms"] / empty["p99_ms"]
    return (
        f"{big['p99_ms']:.1f} ms = {ratio:.2f}x (at {big['requests_per_second']:,.0f}/s"
        f"){_errors(big)}",
        f"empty: {empty['p99_ms']:.1f} ms",
        ratio <= BIG_TABLES_RATIO and not big["errors"],
    )


def _big_claim(empty: dict, big: dict) -> tuple[str, str, bool]:
    p50, p99 = big["p50_ms"] / empty["p50_ms"], big["p99_ms"] / empty["p99_ms"]
    return (
        f"{big['p50_ms']:.3f} / {big['p99_ms']:.3f} ms = {p50:.2f}x / {p99:.2f}x",
        f"empty: {empty['p50_ms']:.3f} / {empty['p99_ms']:.3f} ms",
        p50 <= BIG_TABLES_RATIO and p99 <= BIG_TABLES_RATIO,
    )


def _errors(r: dict) -> str:
    return f", {r['errors']:,} errors" if r["errors"] else ""


def _count(n: int) -> str:
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return f"{n:,}"


def cpu_markdown(measured: dict[str, dict[str, Any]]) -> str:
    """Cores used by each role during each measurement (`bench/cpu.py`), with the share of
    each process where a role has several."""
    roles = sorted(
        {role for m in measured.values() for role in m["cores"]},
        key=lambda role: (CPU_ORDER.index(role) if role in CPU_ORDER else len(CPU_ORDER), role),
    )
    lines = ["| cores used during | " + " | ".join(roles) + " |", "| --- |" + " --- |" * len(roles)]
    for name, m in measured.items():
        cells = [
            f"{m['cores'].get(role, 0):.2f}" + _shares(m["by_process"].get(role)) for role in roles
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _shares(per_process: list[float] | None) -> str:
    return f" ({' + '.join(f'{c:.2f}' for c in per_process)})" if per_process else ""


def markdown(table: list[Row], settings: dict[str, Any], machine: dict[str, str]) -> str:
    lines = [
        "| figure | measured | baseline in the same run | target | met? |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in table:
        met = {True: "yes", False: "no", None: "—"}[row.met]
        lines.append(f"| {row.figure} | {row.measured} | {row.baseline} | {row.target} | {met} |")
    lines += ["", "| setting | value |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in {**settings, **machine}.items()]
    return "\n".join(lines)
