"""Figure 7: a Meta delivery of N messaging events (1,000 by default, the most Meta batches
in one POST), from connected senders, with the workers running: from the signed POST until
every message is stored and decided (`decided_at` set), read from the rows. The baseline is
the wall time pgbench takes for N of the ingest endpoint's transactions (8 clients).

The delivery is stored by the webhook, forwarded event by event by a `forward_delivery`
job to `ingest-event`, and each message processed by its own job: the figure is how much
of that path's time is the service's rather than Postgres's.
"""

from __future__ import annotations

import dataclasses
import time

import httpx

from bench import pgbench, webhook
from bench.end_to_end import drain
from bench.harness import Harness

MID_PREFIX = "meta."
SENDER_PREFIX = "meta-sender-"


def measure(h: Harness) -> dict:
    n = h.options.meta_events
    senders = [f"{SENDER_PREFIX}{i}" for i in range(n)]
    body = webhook.delivery([(f"{MID_PREFIX}{i}", sender) for i, sender in enumerate(senders)])
    baseline = _pgbench_baseline(h, n)
    h.quiet()
    h.db.run("seed_connected_senders", ig_ids=senders)
    h.stack.sandbox_reset()
    h.stack.start_workers()
    h.progress(f"figure 7: one Meta delivery of {n} events ({len(body):,} bytes)")
    with (
        h.measuring("figure 7: a Meta delivery"),
        httpx.Client(base_url=h.stack.web_url, timeout=30) as client,
    ):
        posted_at = time.time()
        webhook.post(client, body)
        answered_at = time.time()
        drain(
            h,
            n,
            f"the {n} messages of one delivery stored and decided",
            lambda: h.db.one("meta_delivery_progress", prefix=MID_PREFIX),
        )
    h.stack.stop_workers()
    finished = h.db.one("meta_delivery_finished", prefix=MID_PREFIX)
    return {
        "events": n,
        "body_bytes": len(body),
        "answered_after_s": round(answered_at - posted_at, 3),
        "stored_after_s": round(finished["stored"] - posted_at, 3),
        "seconds": round(finished["decided"] - posted_at, 3),
        "pgbench": dataclasses.asdict(baseline) if baseline else None,
    }


def _pgbench_baseline(h: Harness, n: int) -> pgbench.PgbenchResult | None:
    if h.pgbench is None:
        return None
    clients = h.options.pgbench_clients
    h.quiet()
    h.progress(f"figure 7 baseline: pgbench, {n} ingest transactions, {clients} clients")
    with h.measuring("figure 7 baseline: pgbench"):
        return pgbench.run_transactions(
            h.pgbench,
            h.db.url,
            clients=clients,
            transactions=n,
            run_id="meta",
            output=h.log_dir / "pgbench-meta.txt",
        )
