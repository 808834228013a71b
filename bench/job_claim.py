"""How long a worker's claim of its next job takes: procrastinate's fetch function, called
as a worker calls it, against a queue of ready jobs (figure 5, on the empty database and
on the big tables). The tables are analyzed first in both cases, so that the figures
compare table sizes, not a table with statistics against one without."""

from __future__ import annotations

import time

from bench.database import Database
from bench.errors import BenchError
from bench.stats import percentiles_ms

QUEUE = "bench_claim"


def measure(db: Database, claims: int) -> dict:
    """Median and p99 over `claims` claims, after a few unmeasured ones (the function's
    plan is cached per session after its first calls, as in a long-running worker)."""
    warmup = max(10, claims // 20)
    worker_id = db.one("claim_worker_register")["id"]
    db.one("claim_jobs_defer", queue=QUEUE, count=claims + warmup)
    db.run("analyze")
    durations = []
    try:
        for i in range(claims + warmup):
            started = time.perf_counter()
            job = db.one("claim_job", queue=QUEUE, worker_id=worker_id)
            elapsed = time.perf_counter() - started
            if job["id"] is None:
                raise BenchError(f"claim {i + 1} found no ready job")
            if i >= warmup:
                durations.append(elapsed)
    finally:
        db.run("claim_jobs_delete", queue=QUEUE)
        db.run("claim_worker_unregister", worker_id=worker_id)
    p50, p99 = percentiles_ms(durations, 50, 99)
    return {"claims": claims, "p50_ms": p50, "p99_ms": p99}
