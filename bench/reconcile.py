"""Figure 10: a reconciliation of N conversations (1,000 by default), each holding one
message whose webhook never came: `ingest reconcile` as a process, against the stand-in's
Conversations API, from start to exit. It reads every conversation and fetches and ingests
every message (N + N calls, and a page of conversations per 100).

It runs unpaced (`RECONCILE_RATE=0`, the stand-in's limit off), so the figure is the
service's own cost per call; at Meta's 2 calls a second the same run takes calls / 2
seconds, which the row gives beside it. The target: the service makes at least ten times
Meta's rate, so the limit, never the service, paces a real run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bench.errors import BenchError
from bench.harness import Harness
from bench.server import ROOT

SENDER_PREFIX = "lost-sender-"
MID_PREFIX = "lost."
META_RATE = 2.0


def measure(h: Harness) -> dict:
    n = h.options.reconcile_conversations
    h.quiet()
    h.stack.sandbox_reset()
    h.stack.sandbox_conversations(
        [
            {"sender_id": f"{SENDER_PREFIX}{i}", "text": f"lost {i}", "mid": f"{MID_PREFIX}{i}"}
            for i in range(n)
        ]
    )
    h.stack.sandbox_conversations_rate_limit(0)
    h.progress(f"figure 10: reconciling {n} conversations, each with a lost message")
    env = {**os.environ, **h.stack.env(), "RECONCILE_RATE": "0"}
    with h.measuring("figure 10: reconcile"):
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "ingest.cli", "reconcile"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=3600,
        )
        seconds = time.monotonic() - started
    if done.returncode != 0:
        raise BenchError(f"ingest reconcile exited {done.returncode}: {done.stderr.strip()}")
    counts = h.stack.sandbox_conversations()
    recovered = h.db.one("count_messages")["n"]
    return {
        "conversations": n,
        "recovered": recovered,
        "calls": counts["calls"],
        "refused": counts["refused"],
        "seconds": round(seconds, 3),
        "calls_per_second": round(counts["calls"] / seconds, 1),
        "at_meta_rate_seconds": round(counts["calls"] / META_RATE),
        "meta_rate": META_RATE,
        "output": done.stdout.strip(),
    }
