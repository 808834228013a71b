"""Figure 4: idle latency, from Meta's webhook POST to the DM request reaching the Graph API
stand-in, one message at a time from connected senders.

The path is the whole of production's: the signed delivery is stored and its
`forward_delivery` job deferred; a worker forwards the event to `ingest-event` over HTTP;
`decide_message` runs; the acknowledgement DM is sent. The clock starts just before the
POST and stops at the stand-in's `arrived_at` (before its simulated latency). The median
time of each stage, read from the rows' timestamps, says where the time goes.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx

from bench import webhook
from bench.harness import Harness
from bench.processes import wait_until
from bench.stats import percentiles_ms

SENDER_PREFIX = "idle-sender-"
WARMUP = 3  # unmeasured deliveries first: the workers' first jobs open connections
DM_DEADLINE_SECONDS = 30
STAGES = (
    "POST -> delivery stored",
    "delivery stored -> message stored (forward job)",
    "message stored -> decided (decide job)",
    "decided -> DM at stand-in (send)",
)


def measure(h: Harness) -> dict:
    count = h.options.idle_messages
    senders = [f"{SENDER_PREFIX}{i}" for i in range(WARMUP + count)]
    h.quiet()
    h.db.run("seed_connected_senders", ig_ids=senders)
    h.stack.sandbox_reset()
    h.stack.start_workers()
    h.progress(f"figure 4: {count} webhook deliveries, one at a time (after {WARMUP} unmeasured)")
    posted_at: dict[str, float] = {}
    with (
        h.measuring("figure 4: idle deliveries"),
        httpx.Client(base_url=h.stack.web_url, timeout=10) as client,
    ):
        for i, sender in enumerate(senders):
            body = webhook.delivery([(f"idle.{i}", sender)])
            posted_at[sender] = time.time()
            webhook.post(client, body)
            wait_until(
                lambda: h.stack.sandbox_counts()["delivered"] > i,
                timeout=DM_DEADLINE_SECONDS,
                interval=0.01,
                what=f"the DM answering delivery {i + 1}",
                watch=h.stack.workers,
            )
    h.stack.stop_workers()
    arrived = {
        m["recipient_id"]: dt.datetime.fromisoformat(m["arrived_at"]).timestamp()
        for m in h.stack.sandbox_messages()
    }
    measured = senders[WARMUP:]
    p50, p99, worst = percentiles_ms([arrived[s] - posted_at[s] for s in measured], 50, 99, 100)
    return {
        "messages": count,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": worst,
        "stage_p50_ms": _stages(h, measured, posted_at, arrived),
    }


def _stages(
    h: Harness, senders: list[str], posted_at: dict[str, float], arrived: dict[str, float]
) -> dict[str, float]:
    """Median milliseconds of each stage, from the POST to the DM's arrival."""
    stages: dict[str, list[float]] = {name: [] for name in STAGES}
    for row in h.db.all("idle_stages", senders=senders):
        marks = [
            posted_at[row["sender"]],
            row["delivery_stored"],
            row["message_stored"],
            row["message_decided"],
            arrived[row["sender"]],
        ]
        if None in marks:
            continue  # a stage the service no longer records this way
        for name, start, end in zip(STAGES, marks, marks[1:], strict=False):
            stages[name].append(end - start)
    return {name: percentiles_ms(values, 50)[0] for name, values in stages.items()}
