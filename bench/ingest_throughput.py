"""Figure 1: ingest events accepted per second under full load, beside pgbench running
the endpoint's own statement (`ingest_messages_applying_edits_v1`: the message, its sender's
window, its job, its waiting edits) for as long."""

from __future__ import annotations

import dataclasses

from bench import pgbench
from bench.errors import BenchError
from bench.harness import Harness
from bench.load import LoadPlan


def measure(h: Harness) -> dict:
    o = h.options
    baseline = None
    if h.pgbench is not None:
        h.quiet()
        h.progress(
            f"figure 1 baseline: pgbench, the ingest transaction, "
            f"{o.pgbench_clients} clients, {o.duration:g} s"
        )
        with h.measuring("figure 1 baseline: pgbench"):
            baseline = pgbench.run(
                h.pgbench,
                h.db.url,
                clients=o.pgbench_clients,
                seconds=o.duration,
                run_id="ingest",
                output=h.log_dir / "pgbench-ingest.txt",
            )
        # More rows than counted transactions is fine: pgbench leaves out those in
        # flight when its time is up. Fewer: mids repeated, and the baseline did less work.
        stored = h.db.one("count_messages")["n"]
        if stored < baseline.transactions:
            raise BenchError(
                f"pgbench ran {baseline.transactions} transactions but stored "
                f"{stored} messages: its mids were not unique"
            )
    h.quiet()
    h.progress(
        f"figure 1: {h.tool}, ingest-event at full speed, {o.load_connections} "
        f"connections, {o.duration:g} s"
    )
    with h.measuring("figure 1: ingest at full speed"):
        ours = h.load(
            LoadPlan(
                prefix="rate",
                threads=o.load_threads,
                connections=o.load_connections,
                seconds=o.duration,
            )
        )
    return {
        "service": ours.as_dict(),
        "stored": h.db.one("count_messages")["n"],
        "pgbench": dataclasses.asdict(baseline) if baseline else None,
    }
