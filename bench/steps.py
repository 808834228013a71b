"""The measurements, in an order where none disturbs the next (each starts from empty
tables; the big tables come last), each stored as `results[key]`. `--only` runs those its
figures are judged from, and the measurements those need."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from bench import (
    accounts_at_pace,
    big_tables,
    end_to_end,
    idle_latency,
    ingest_latency,
    ingest_throughput,
    job_claim,
    meta_delivery,
    reconcile,
    report,
    send_pacing,
)
from bench.errors import BenchError
from bench.harness import Harness
from bench.load import LoadPlan
from bench.rss import resident_mb


@dataclasses.dataclass(frozen=True)
class Step:
    """One measurement, stored as `results[key]`; it runs once those of `needs` have."""

    key: str
    measure: Callable[[Harness, dict[str, Any]], dict]
    needs: tuple[str, ...] = ()


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
    Step("accounts_at_pace", lambda h, r: accounts_at_pace.measure(h)),
    Step("reconcile", lambda h, r: reconcile.measure(h)),
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


def run_all(h: Harness, results: dict[str, Any]) -> None:
    """The warm-up (unmeasured but for the web processes' RSS), then the steps."""
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
