"""How each figure is judged: from its results (and its baseline's), the measured and
baseline cells of its row and whether its target is met."""

from __future__ import annotations

from collections.abc import Callable, Iterable

INGEST_PGBENCH_RATIO = 0.6
INGEST_P99_MS = 25
END_TO_END_NOOP_RATIO = 0.6
IDLE_P50_MS = 30
BIG_TABLES_RATIO = 1.2
META_DELIVERY_RATIO = 3
RSS_RATIO = 1.2
CPU_PER_MESSAGE_RATIO = 2
PACED_RATE_SHARE = 0.9
ACCOUNTS_SERVED = 6
RECONCILE_META_RATE_RATIO = 10

# (measured, baseline, met) from a figure's results
Judge = Callable[..., tuple[str, str, bool]]


def ingest_rate(r: dict) -> tuple[str, str, bool]:
    ours, pgbench = r["service"], r["pgbench"]
    rate = ours["accepted_per_second"]
    if pgbench is None:
        return f"{rate:,.0f}/s{errors(ours)}", "pgbench not found", False
    ratio = rate / pgbench["per_second"]
    return (
        f"{rate:,.0f}/s = {ratio:.2f}x pgbench{errors(ours)}",
        f"pgbench {pgbench['per_second']:,.0f}/s ({pgbench['clients']} clients)",
        ratio >= INGEST_PGBENCH_RATIO and not ours["errors"],
    )


def ingest_latency(r: dict) -> tuple[str, str, bool]:
    return (
        f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms at {r['requests_per_second']:,.0f}/s{errors(r)}",
        "—",
        r["p99_ms"] <= INGEST_P99_MS and not r["errors"],
    )


def end_to_end(r: dict) -> tuple[str, str, bool]:
    ours, noop = r["service"], r["noop"]
    ratio = ours["per_second"] / noop["per_second"]
    return (
        f"{ours['per_second']:,.0f}/s = {ratio:.2f}x no-op "
        f"({ours['jobs_or_messages']:,} in {ours['seconds']:.1f} s)",
        f"no-op jobs {noop['per_second']:,.0f}/s",
        ratio >= END_TO_END_NOOP_RATIO,
    )


def send_pacing(r: dict) -> tuple[str, str, bool]:
    return (
        f"{r['per_second']:,.1f}/s, {r['answered_429']:,} answered 429, "
        f"{r['delivered']:,} of {r['dms']:,} sent",
        f"GRAPH_SEND_RATE {r['configured_per_second']:g}/s",
        r["answered_429"] == 0
        and r["delivered"] == r["dms"]
        and r["per_second"] >= PACED_RATE_SHARE * r["configured_per_second"],
    )


def accounts_at_pace(r: dict) -> tuple[str, str, bool]:
    """The largest N served, with the worst account's time at each N tried."""
    tried = "; ".join(
        f"{step['accounts']}: "
        + (f"{step['worst_ratio']:.2f}x" if step["worst_ratio"] is not None else "unfinished")
        + ("" if step["served"] else _why_not_served(step))
        for step in r["steps"]
    )
    per_account = round(r["pace_per_second"] * r["seconds"])
    return (
        f"{r['served']} accounts (worst account's time by N: {tried})",
        f"ideal time {r['seconds']:g} s per account ({per_account:,} messages at "
        f"{r['pace_per_second']:g}/s)",
        r["served"] >= ACCOUNTS_SERVED,
    )


def _why_not_served(step: dict) -> str:
    reasons = []
    if step["answered_429"]:
        reasons.append(f"{step['answered_429']} answered 429")
    if step["delivered"] < step["messages"]:
        reasons.append(f"{step['delivered']:,} of {step['messages']:,} sent in time")
    reasons.append(
        f"backlog peak {step['backlog']['peak']:,}, last third {step['backlog']['growth']:+,}"
    )
    return " (not served: " + ", ".join(reasons) + ")"


def idle_latency(r: dict) -> tuple[str, str, bool]:
    stages = "; ".join(f"{name} {ms:.1f}" for name, ms in r["stage_p50_ms"].items())
    return (
        f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f} ms ({r['messages']} messages; {stages} ms)",
        "—",
        r["p50_ms"] <= IDLE_P50_MS,
    )


def big_ingest(empty: dict, big: dict) -> tuple[str, str, bool]:
    ratio = big["p99_ms"] / empty["p99_ms"]
    return (
        f"{big['p99_ms']:.1f} ms = {ratio:.2f}x (at {big['requests_per_second']:,.0f}/s"
        f"){errors(big)}",
        f"empty: {empty['p99_ms']:.1f} ms",
        ratio <= BIG_TABLES_RATIO and not big["errors"],
    )


def meta_delivery(r: dict) -> tuple[str, str, bool]:
    ours = (
        f"{r['seconds']:.2f} s (stored after {r['stored_after_s']:.2f} s, "
        f"answered after {r['answered_after_s'] * 1000:.0f} ms)"
    )
    pgbench = r["pgbench"]
    if pgbench is None:
        return ours, "pgbench not found", False
    ratio = r["seconds"] / pgbench["seconds"]
    return (
        f"{ratio:.2f}x pgbench: {ours}",
        f"pgbench {pgbench['seconds']:.2f} s for {pgbench['transactions']:,} transactions "
        f"({pgbench['clients']} clients)",
        ratio <= META_DELIVERY_RATIO,
    )


def big_claim(empty: dict, big: dict) -> tuple[str, str, bool]:
    p50, p99 = big["p50_ms"] / empty["p50_ms"], big["p99_ms"] / empty["p99_ms"]
    return (
        f"{big['p50_ms']:.3f} / {big['p99_ms']:.3f} ms = {p50:.2f}x / {p99:.2f}x",
        f"empty: {empty['p50_ms']:.3f} / {empty['p99_ms']:.3f} ms",
        p50 <= BIG_TABLES_RATIO and p99 <= BIG_TABLES_RATIO,
    )


def errors(r: dict) -> str:
    return f", {r['errors']:,} errors" if r["errors"] else ""


def rss(warmup: dict, end_to_end: dict) -> tuple[str, str, bool]:
    """Each web process after the end-to-end ingest against itself after the warm-up; each
    worker at the end of the drain against itself after its first messages."""
    rss = end_to_end["service"]["rss_mb"]
    kinds = {
        "web": (warmup["web_rss_mb"], rss["web_after_ingest"]),
        "workers": (rss["workers_after_first"], rss["workers_after_drain"]),
    }
    pairs = {
        kind: [(before[pid], after[pid]) for pid in before if pid in after]
        for kind, (before, after) in kinds.items()
    }
    ratios = [after / before for both in pairs.values() for before, after in both]
    if not ratios:
        return "not measured: no /proc", "", False
    return (
        "; ".join(f"{kind} {_mb(a for _, a in both)}" for kind, both in pairs.items())
        + f" (at most {max(ratios):.2f}x)",
        f"web after the warm-up {_mb(b for b, _ in pairs['web'])}; workers after their "
        f"first messages {_mb(b for b, _ in pairs['workers'])}",
        max(ratios) <= RSS_RATIO,
    )


def _mb(values: Iterable[float]) -> str:
    return ", ".join(f"{v:.0f}" for v in values) + " MB"


def cpu_per_message(r: dict) -> tuple[str, str, bool]:
    """CPU seconds of ingest and drain over the messages, against the no-op baseline's
    defer and drain over its jobs (`bench/end_to_end.py` says which processes count)."""
    ours, noop = r["service"], r["noop"]
    mine = sum(ours["cpu_seconds"].values()) / ours["jobs_or_messages"] * 1000
    theirs = sum(noop["cpu_seconds"].values()) / noop["jobs_or_messages"] * 1000
    if not theirs:
        return "not measured: no /proc", "", False
    return (
        f"{mine:.2f} ms = {mine / theirs:.2f}x (CPU s: ingest {ours['cpu_seconds']['ingest']:.1f}"
        f" + drain {ours['cpu_seconds']['drain']:.1f})",
        f"no-op job {theirs:.2f} ms (CPU s: defer {noop['cpu_seconds']['defer']:.1f} + drain "
        f"{noop['cpu_seconds']['drain']:.1f})",
        mine / theirs <= CPU_PER_MESSAGE_RATIO,
    )


def reconcile(r: dict) -> tuple[str, str, bool]:
    return (
        f"{r['seconds']:,.1f} s, {r['calls']:,} calls = {r['calls_per_second']:,.1f}/s; "
        f"{r['recovered']:,} of {r['conversations']:,} recovered",
        f"Meta's {r['meta_rate']:g} calls/s: {r['at_meta_rate_seconds']:,} s",
        r["calls_per_second"] >= RECONCILE_META_RATE_RATIO * r["meta_rate"]
        and r["recovered"] == r["conversations"]
        and r["refused"] == 0,
    )
