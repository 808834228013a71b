"""Figures 2 and 5: ingest-event latency at a steady rate (about 1,000 events/s by
default, and half the full-load rate figure 1 measured), on whatever the database holds at
the time."""

from __future__ import annotations

from bench.harness import Harness
from bench.load import LoadPlan


def measure(h: Harness, prefix: str, rate: float) -> dict:
    o = h.options
    h.progress(
        f"{h.tool}: ingest-event paced at {rate:g}/s, {o.paced_connections} "
        f"connections, {o.duration:g} s ({prefix})"
    )
    with h.measuring(f"paced ingest ({prefix})"):
        result = h.load(
            LoadPlan(
                prefix=prefix,
                threads=o.load_threads,
                connections=o.paced_connections,
                seconds=o.duration,
                rate=rate,
            )
        )
    return result.as_dict() | {"target_rate": rate}
