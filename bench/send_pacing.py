"""Figure 6: a burst of DMs paced under Meta's rate across the worker processes.

N events from N connected senders are ingested while no worker runs; then the stand-in is
made to answer 429 to any send beyond META_RATE_LIMIT within a second, as Meta does, and
the workers start with GRAPH_SEND_RATE set (the other figures run unpaced). The figure is
the rate at which the stand-in received the N acknowledgements, first to last, beside the
configured one; the target: none answered 429, all sent, at >= 90% of GRAPH_SEND_RATE.
"""

from __future__ import annotations

import datetime

from bench import end_to_end
from bench.errors import BenchError
from bench.harness import Harness
from bench.load import LoadPlan

SENDER_PREFIX = "paced-sender-"
META_RATE_LIMIT = 100


def measure(h: Harness) -> dict:
    o = h.options
    plan = LoadPlan(
        prefix="paced",
        threads=o.load_threads,
        connections=o.load_connections,
        quota=o.paced_sends // o.load_threads * o.load_threads,
        sender_prefix=SENDER_PREFIX,
    )
    n = plan.quota
    h.quiet()
    h.db.run("seed_connected_senders", ig_ids=plan.senders())
    h.stack.sandbox_reset()
    h.progress(f"figure 6: ingesting {n} events from {n} connected senders, no worker running")
    loaded = h.load(plan)
    if loaded.accepted != n:
        raise BenchError(f"{loaded.accepted} of {n} events accepted ({loaded.errors} errors)")
    h.stack.sandbox_rate_limit(META_RATE_LIMIT)
    h.progress(
        f"figure 6: {o.worker_processes} workers sending {n} DMs at GRAPH_SEND_RATE "
        f"{o.send_rate:g}/s, the stand-in refusing over {META_RATE_LIMIT}/s"
    )
    try:
        with h.measuring("figure 6: paced sends"):
            h.stack.start_workers(
                env={"GRAPH_SEND_RATE": str(o.send_rate), "GRAPH_SEND_BURST": str(o.send_burst)}
            )
            end_to_end.drain(
                h,
                n,
                f"{n} DMs paced",
                lambda: (
                    h.db.one("end_to_end_progress")
                    | {"dms_received": h.stack.sandbox_counts()["delivered"]}
                ),
            )
        h.stack.stop_workers()
    finally:
        h.stack.sandbox_rate_limit(0)
    counts = h.stack.sandbox_counts()
    arrived = sorted(
        datetime.datetime.fromisoformat(m["arrived_at"]) for m in h.stack.sandbox_messages()
    )
    seconds = (arrived[-1] - arrived[0]).total_seconds() if len(arrived) > 1 else 0.0
    return {
        "dms": n,
        "delivered": counts["delivered"],
        "answered_429": counts["rate_limited"],
        "seconds": round(seconds, 3),
        "per_second": round((len(arrived) - 1) / seconds, 1) if seconds else 0.0,
        "configured_per_second": o.send_rate,
        "meta_limit_per_second": META_RATE_LIMIT,
    }
