"""Figure 3: messages fully processed per second, end to end, beside procrastinate alone
draining as many no-op jobs with the same worker settings.

N events from N connected senders are ingested through the HTTP endpoint while no worker
runs, and the tables analyzed (as autovacuum would soon after such a burst); then the
workers start, and the drain lasts from the first job's start (process start-up is left
out, in both) until every message is processed, has its Phase 3 row and its
acknowledgement `sent`, and the stand-in has received N DMs. Completion is read from
those rows, never from job counts, which depend on how the work is split in jobs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from bench import noop_worker
from bench.errors import BenchError
from bench.harness import Harness
from bench.load import LoadPlan
from bench.processes import wait_until
from bench.rss import resident_mb

SENDER_PREFIX = "e2e-sender-"
POLL_SECONDS = 0.05
STALL_SECONDS = 120
MAX_DRAIN_SECONDS = 3 * 3600
# The measurements (`bench/cpu.py`) CPU per message and per no-op job are counted from,
# and the processes counted in each: the service's, and what the baseline runs instead
# (the harness defers the no-op jobs, as the web process defers the service's).
INGEST = "figure 3: end-to-end ingest"
DRAIN = "figure 3: end-to-end drain"
NOOP_DEFER = "figure 3 baseline: no-op defer"
NOOP_DRAIN = "figure 3 baseline: no-op drain"
SERVICE_ROLES = ("web", "workers", "sandbox", "postgres")
DEFER_ROLES = ("harness", "postgres")
NOOP_ROLES = ("workers", "postgres")


def measure(h: Harness) -> dict:
    return {"noop": _noop_baseline(h), "service": _service(h)}


def _noop_baseline(h: Harness) -> dict:
    n = h.options.messages
    h.quiet()
    h.progress(f"figure 3 baseline: {n} no-op procrastinate jobs")
    with h.measuring(NOOP_DEFER):
        asyncio.run(noop_worker.defer(h.db.url, n))
    h.db.run("analyze")
    with h.measuring(NOOP_DRAIN):
        h.stack.start_noop_workers()
        reached = drain(
            h, n, f"{n} no-op jobs", lambda: h.db.one("jobs_succeeded", queue=noop_worker.QUEUE)
        )
    cpu = {
        "defer": h.cpu_seconds(NOOP_DEFER, DEFER_ROLES),
        "drain": h.cpu_seconds(NOOP_DRAIN, NOOP_ROLES),
    }
    return _drained(h, n, reached) | {"cpu_seconds": cpu}


def _service(h: Harness) -> dict:
    o = h.options
    plan = LoadPlan(
        prefix="e2e",
        threads=o.load_threads,
        connections=o.load_connections,
        quota=o.messages // o.load_threads * o.load_threads,
        sender_prefix=SENDER_PREFIX,
    )
    n = plan.quota
    h.quiet()
    h.db.run("seed_connected_senders", ig_ids=plan.senders())
    h.stack.sandbox_reset()
    h.progress(f"figure 3: ingesting {n} events from {n} connected senders, no worker running")
    with h.measuring(INGEST):
        loaded = h.load(plan)
    if loaded.accepted != n:
        raise BenchError(f"{loaded.accepted} of {n} events accepted ({loaded.errors} errors)")
    rss = {"web_after_ingest": resident_mb(h.stack.roles(), "web")}
    h.db.run("analyze")
    h.progress(f"figure 3: {o.worker_processes} worker processes draining {n} messages")

    def progress() -> dict[str, int]:
        counts = h.db.one("end_to_end_progress") | {
            "dms_received": h.stack.sandbox_counts()["delivered"]
        }
        if counts["sent"] and "workers_after_first" not in rss:
            rss["workers_after_first"] = resident_mb(h.stack.roles(), "workers")
        return counts

    with h.measuring(DRAIN):
        h.stack.start_workers()
        reached = drain(h, n, f"{n} messages processed end to end", progress)
        rss["workers_after_drain"] = resident_mb(h.stack.roles(), "workers")
    result = _drained(h, n, reached)
    unfinished = h.db.one("end_to_end_unfinished")["n"]
    if unfinished:
        raise BenchError(f"{unfinished} messages lack a sent DM or a Phase 3 row")
    cpu = {
        "ingest": h.cpu_seconds(INGEST, SERVICE_ROLES),
        "drain": h.cpu_seconds(DRAIN, SERVICE_ROLES),
    }
    return result | {
        "ingest_accepted_per_second": round(loaded.accepted_per_second, 1),
        "rss_mb": rss,
        "cpu_seconds": cpu,
    }


def drain(
    h: Harness, n: int, what: str, progress: Callable[[], dict[str, int]]
) -> dict[str, float]:
    """When (time.time()) each count of `progress()` reached `n`, once all have. A drain
    may be slow, but one whose counts stand still for STALL_SECONDS is stuck: BenchError."""
    reached: dict[str, float] = {}
    last, moved = None, time.monotonic()

    def done() -> bool:
        nonlocal last, moved
        counts = progress()
        reached.update(
            {
                name: time.time()
                for name, count in counts.items()
                if count >= n and name not in reached
            }
        )
        if len(reached) == len(counts):
            return True
        if counts != last:
            last, moved = counts, time.monotonic()
        elif time.monotonic() - moved > STALL_SECONDS:
            raise BenchError(f"{what}: no progress for {STALL_SECONDS} s, at {counts}")
        return False

    wait_until(
        done, timeout=MAX_DRAIN_SECONDS, interval=POLL_SECONDS, what=what, watch=h.stack.workers
    )
    return reached


def _drained(h: Harness, n: int, reached: dict[str, float]) -> dict:
    """The drain's figures, timed from the first job's start; the workers are stopped."""
    h.stack.stop_workers()
    first_started = h.db.one("first_job_started")["at"]
    seconds = max(reached.values()) - first_started
    return {
        "jobs_or_messages": n,
        "seconds": round(seconds, 3),
        "per_second": round(n / seconds, 1),
        "all_reached_after_s": {name: round(at - first_started, 3) for name, at in reached.items()},
    }
