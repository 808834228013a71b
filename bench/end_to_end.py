"""Figure 3: messages fully processed per second, end to end, beside procrastinate alone
draining as many no-op jobs with the same worker settings.

N events from N connected senders are ingested through the HTTP endpoint while no worker
runs; then the workers start, and the drain lasts from the first job's start (process
start-up is left out, in both) until every message is processed, has its Phase 3 row
and its acknowledgement `sent`, and the stand-in has received N DMs. Completion is read
from those rows, never from job counts, which depend on how the work is split in jobs.
"""

from __future__ import annotations

import asyncio
import time

from bench import noop_worker
from bench.errors import BenchError
from bench.harness import Harness
from bench.load import LoadPlan
from bench.processes import wait_until

SENDER_PREFIX = "e2e-sender-"
POLL_SECONDS = 0.05


def measure(h: Harness) -> dict:
    return {"noop": _noop_baseline(h), "service": _service(h)}


def _noop_baseline(h: Harness) -> dict:
    n = h.options.messages
    h.quiet()
    h.progress(f"figure 3 baseline: {n} no-op procrastinate jobs")
    asyncio.run(noop_worker.defer(h.db.url, n))
    h.stack.start_noop_workers()
    done_at = wait_until(
        lambda: h.db.one("jobs_succeeded", queue=noop_worker.QUEUE)["n"] >= n and time.time(),
        timeout=_deadline(n), interval=POLL_SECONDS, what=f"{n} no-op jobs",
        watch=h.stack.workers)
    return _drained(h, n, done_at)


def _service(h: Harness) -> dict:
    o = h.options
    plan = LoadPlan(prefix="e2e", threads=o.load_threads, connections=o.load_connections,
                    quota=o.messages // o.load_threads * o.load_threads,
                    sender_prefix=SENDER_PREFIX)
    n = plan.quota
    h.quiet()
    h.db.run("seed_connected_senders", ig_ids=plan.senders())
    h.stack.sandbox_reset()
    h.progress(f"figure 3: ingesting {n} events from {n} connected senders, no worker running")
    loaded = h.load(plan)
    if loaded.accepted != n:
        raise BenchError(f"{loaded.accepted} of {n} events accepted ({loaded.errors} errors)")
    h.progress(f"figure 3: {o.worker_processes} worker processes draining {n} messages")
    h.stack.start_workers()
    done_at = wait_until(lambda: _all_done(h, n) and time.time(), timeout=_deadline(n),
                         interval=POLL_SECONDS, what=f"{n} messages processed end to end",
                         watch=h.stack.workers)
    result = _drained(h, n, done_at)
    unfinished = h.db.one("end_to_end_unfinished")["n"]
    if unfinished:
        raise BenchError(f"{unfinished} messages lack a sent DM or a Phase 3 row")
    return result | {"ingest_accepted_per_second": round(loaded.accepted_per_second, 1)}


def _all_done(h: Harness, n: int) -> bool:
    progress = h.db.one("end_to_end_progress")
    return (min(progress.values()) >= n
            and h.stack.sandbox_counts()["delivered"] >= n)


def _drained(h: Harness, n: int, done_at: float) -> dict:
    h.stack.stop_workers()
    first_started = h.db.one("first_job_started")["at"]
    seconds = done_at - first_started
    return {"jobs_or_messages": n, "seconds": round(seconds, 3),
            "per_second": round(n / seconds, 1)}


def _deadline(n: int) -> float:
    return 120 + n / 20  # far beyond any plausible drain; a stuck pipeline still ends
