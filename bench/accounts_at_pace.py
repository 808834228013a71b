"""Figure 11: accounts served at full pace. N business accounts in one deployment, each sent
GRAPH_SEND_RATE messages a second (80) for `account_seconds` (30 s) by connected senders,
the workers running and paced as in production, the stand-in knowing each account's token
and answering 429 beyond META_RATE_LIMIT sends a second to any one account, as Meta does.

N steps up (`accounts_steps`: 1, 2, 4, 6, 8) and stops at the first N not served. N is
served when every account's DMs all reach the stand-in within LATE_RATIO of the ideal
time (its messages at its pace, the baseline), none answered 429, and the backlog (messages
stored whose DM has not reached the stand-in) stays bounded: over the load's last third it
rises no more than one second of the accounts' pace above its peak before. The figure is
the largest N served. Times are read afterwards, from the messages' `created_at` and each
DM's arrival at the stand-in.
"""

from __future__ import annotations

import bisect
import datetime
import time

from bench import send_pacing
from bench.errors import BenchError
from bench.harness import Harness
from bench.load import LoadPlan
from bench.processes import wait_until

LATE_RATIO = 1.2
# Past the ideal time x LATE_RATIO, plus this, the step has failed: waiting longer for the
# rest of its DMs would tell nothing more.
GRACE_SECONDS = 5.0
# Enough requests in flight that the load keeps its pace through the ingest's slow answers
# on a busy machine (p99 of 150 ms at 80/s wants 12).
CONNECTIONS_PER_ACCOUNT = 16
FIRST_ACCOUNT = 17841500000000001


def account_ids(n: int) -> list[str]:
    return [str(FIRST_ACCOUNT + i) for i in range(n)]


def token_of(ig_id: str) -> str:
    return f"bench-account-token-{ig_id}"


def steps(h: Harness) -> list[int]:
    return [int(n) for n in h.options.accounts_steps.split(",") if n.strip()]


def measure(h: Harness) -> dict:
    added: set[str] = set()
    results = []
    try:
        for n in steps(h):
            step = _step(h, n, added)
            results.append(step)
            if not step["served"]:
                break
    finally:
        for ig_id in sorted(added):  # the later figures answer the environment's alone
            h.stack.remove_account(ig_id)
    served = [step["accounts"] for step in results if step["served"]]
    return {
        "served": max(served, default=0),
        "steps": results,
        "pace_per_second": h.options.send_rate,
        "seconds": h.options.account_seconds,
    }


def _step(h: Harness, n: int, added: set[str]) -> dict:
    o = h.options
    accounts = account_ids(n)
    per_account = round(o.send_rate * o.account_seconds)
    plan = LoadPlan(
        prefix=f"accounts-{n}",
        threads=n,
        connections=n * CONNECTIONS_PER_ACCOUNT,
        rate=n * o.send_rate,
        quota=n * per_account,
        sender_prefix=f"accounts-{n}-sender-",
        accounts=tuple(accounts),
    )
    h.quiet()
    h.stack.sandbox_reset()
    for ig_id in accounts:
        h.stack.sandbox_account(ig_id, token_of(ig_id), send_pacing.META_RATE_LIMIT)
        if ig_id not in added:
            h.stack.add_account(ig_id, token_of(ig_id))
            added.add(ig_id)
    h.db.run("seed_connected_senders", ig_ids=plan.senders())
    h.stack.start_workers(
        env={"GRAPH_SEND_RATE": str(o.send_rate), "GRAPH_SEND_BURST": str(o.send_burst)}
    )
    h.progress(
        f"figure 11: {n} accounts, each sent {o.send_rate:g} messages/s for "
        f"{o.account_seconds:g} s ({plan.quota} in all)"
    )
    ideal = per_account / o.send_rate
    try:
        with h.measuring(f"figure 11: {n} accounts at full pace"):
            loaded = h.load(plan)
            if loaded.accepted != plan.quota:
                raise BenchError(f"{loaded.accepted} of {plan.quota} events accepted")
            _wait_for_dms(h, plan.quota, ideal)
    finally:
        h.stack.stop_workers()
    return _judged(h, n, per_account, ideal) | {"load_seconds": round(loaded.seconds, 3)}


def _wait_for_dms(h: Harness, total: int, ideal: float) -> None:
    """Until the stand-in has every DM, or the step has failed whatever comes after."""
    first = h.db.one("first_message_stored")["at"]
    give_up = first + ideal * LATE_RATIO + GRACE_SECONDS
    wait_until(
        lambda: h.stack.sandbox_counts()["delivered"] >= total or time.time() > give_up,
        timeout=ideal * LATE_RATIO + GRACE_SECONDS + 60,
        what="the accounts' DMs",
        interval=0.2,
        watch=h.stack.workers,
    )


def _judged(h: Harness, n: int, per_account: int, ideal: float) -> dict:
    stored = h.db.all("messages_stored_by_account")
    arrived = [
        (m["scoped_id"], datetime.datetime.fromisoformat(m["arrived_at"]).timestamp())
        for m in h.stack.sandbox_messages()
    ]
    start = min(row["at"] for row in stored)
    ratios = {}
    for ig_id in account_ids(n):
        times = [at for account, at in arrived if account == ig_id]
        done = len(times) >= per_account
        ratios[ig_id] = round((max(times) - start) / ideal, 3) if done else None
    backlog = _backlog(
        sorted(row["at"] for row in stored), sorted(at for _, at in arrived), start, ideal
    )
    late = [ratio for ratio in ratios.values() if ratio is None or ratio > LATE_RATIO]
    rate_limited = h.stack.sandbox_counts()["rate_limited"]
    bound = n * h.options.send_rate  # one second of the accounts' pace
    return {
        "accounts": n,
        "messages": n * per_account,
        "ideal_seconds": ideal,
        "ratio_by_account": ratios,
        "worst_ratio": max((r for r in ratios.values() if r is not None), default=None),
        "delivered": len(arrived),
        "answered_429": rate_limited,
        "backlog": backlog,
        "served": not late and not rate_limited and backlog["growth"] <= bound,
    }


def _backlog(stored: list[float], arrived: list[float], start: float, ideal: float) -> dict:
    """The backlog (stored, not yet at the stand-in) every tenth of a second of the load:
    its peak before the last third, and how far it rose above that in the last third."""

    def at(t: float) -> int:
        return bisect.bisect_right(stored, t) - bisect.bisect_right(arrived, t)

    samples = [at(start + k / 10) for k in range(round(ideal * 10) + 1)]
    cut = len(samples) * 2 // 3
    before, last = max(samples[:cut], default=0), max(samples[cut:], default=0)
    return {"peak": max(samples), "peak_before_last_third": before, "growth": last - before}
