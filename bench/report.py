"""The report: one row per figure (measured | baseline in the same run | target | met?),
the run's settings and machine, as markdown for the terminal and as JSON for RESULTS.md."""

from __future__ import annotations

import dataclasses
from typing import Any

from bench import accounts_at_pace, judges
from bench.options import Options

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


@dataclasses.dataclass(frozen=True)
class Row:
    name: str  # as `--only` takes it
    figure: str
    measured: str
    baseline: str
    target: str
    met: bool | None  # None: not measured
    ran: bool = True  # False: left out by `--only`, not a failure


@dataclasses.dataclass(frozen=True)
class Figure:
    name: str
    keys: tuple[str, ...]  # the results it is judged from, in the judge's order
    title: str
    target: str
    judge: judges.Judge


def figures(options: Options) -> list[Figure]:
    """The report's figures, in its order (`bench.options.FIGURES` names them)."""
    rate = f"~{options.paced_rate:,.0f}/s"
    big = _count(options.big_rows)
    on_big = f"with {big} messages + {big} finished jobs"
    return [
        Figure(
            "ingest_rate",
            ("ingest_rate",),
            "ingest-event accepted/s (full load)",
            f">= {judges.INGEST_PGBENCH_RATIO}x pgbench",
            judges.ingest_rate,
        ),
        Figure(
            "ingest_latency",
            ("ingest_latency",),
            f"ingest-event latency p50 / p99, paced at {rate}",
            f"p99 <= {judges.INGEST_P99_MS} ms",
            judges.ingest_latency,
        ),
        Figure(
            "end_to_end",
            ("end_to_end",),
            "messages fully processed/s, end to end",
            f">= {judges.END_TO_END_NOOP_RATIO}x no-op jobs/s",
            judges.end_to_end,
        ),
        Figure(
            "send_pacing",
            ("send_pacing",),
            f"a burst of {options.paced_sends:,} DMs paced, the stand-in refusing over 100/s",
            f"0 answered 429, all sent, >= {judges.PACED_RATE_SHARE:.0%} of GRAPH_SEND_RATE",
            judges.send_pacing,
        ),
        Figure(
            "accounts_at_pace",
            ("accounts_at_pace",),
            f"accounts served at full pace: each sent {options.send_rate:g} messages/s for "
            f"{options.account_seconds:g} s, DMs within {accounts_at_pace.LATE_RATIO}x "
            "the ideal time, backlog bounded",
            f">= {judges.ACCOUNTS_SERVED} accounts",
            judges.accounts_at_pace,
        ),
        Figure(
            "idle_latency",
            ("idle_latency",),
            "idle latency p50 / p99, webhook -> DM at stand-in (stage p50s)",
            f"p50 <= {judges.IDLE_P50_MS} ms",
            judges.idle_latency,
        ),
        Figure(
            "big_ingest",
            ("ingest_latency", "ingest_latency_big"),
            f"ingest p99 at {rate} {on_big}",
            f"within {judges.BIG_TABLES_RATIO}x",
            judges.big_ingest,
        ),
        Figure(
            "big_claim",
            ("claim_empty", "claim_big"),
            f"job claim p50 / p99 {on_big}",
            f"within {judges.BIG_TABLES_RATIO}x",
            judges.big_claim,
        ),
        Figure(
            "half_rate_big",
            ("ingest_latency_half", "ingest_latency_half_big"),
            f"ingest p99 paced at half the full-load rate {on_big}",
            f"within {judges.BIG_TABLES_RATIO}x",
            judges.big_ingest,
        ),
        Figure(
            "meta_delivery",
            ("meta_delivery",),
            f"a Meta delivery of {options.meta_events:,} events: POST -> all stored and decided",
            f"<= {judges.META_DELIVERY_RATIO:g}x pgbench",
            judges.meta_delivery,
        ),
        Figure(
            "rss",
            ("warmup", "end_to_end"),
            f"RSS of each process after {options.messages:,} messages end to end",
            f"each <= {judges.RSS_RATIO}x",
            judges.rss,
        ),
        Figure(
            "cpu_per_message",
            ("end_to_end",),
            "CPU per message end to end (web + workers + sandbox + postgres)",
            f"<= {judges.CPU_PER_MESSAGE_RATIO}x",
            judges.cpu_per_message,
        ),
        Figure(
            "reconcile",
            ("reconcile",),
            f"a reconciliation of {options.reconcile_conversations:,} conversations, each with"
            " a lost message, unpaced",
            f">= {judges.RECONCILE_META_RATE_RATIO}x Meta's 2 calls/s, all recovered",
            judges.reconcile,
        ),
    ]


def needs(options: Options) -> set[str] | None:
    """The results the figures of `--only` are judged from; None: every figure's."""
    if not options.only:
        return None
    return {key for f in figures(options) if f.name in options.only for key in f.keys}


def rows(results: dict[str, Any], options: Options) -> list[Row]:
    return [
        _row(results, f)
        if not options.only or f.name in options.only
        else Row(f.name, f.title, "not run", "", f.target, None, ran=False)
        for f in figures(options)
    ]


def _row(results: dict[str, Any], f: Figure) -> Row:
    parts = [results.get(key) or {"error": "not measured"} for key in f.keys]
    failed = next((part["error"] for part in parts if "error" in part), None)
    if failed is not None:
        return Row(f.name, f.title, f"failed: {failed.splitlines()[0]}", "", f.target, None)
    measured, baseline, met = f.judge(*parts)
    return Row(f.name, f.title, measured, baseline, f.target, met)


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
