"""A small Python stand-in for wrk, for smoke runs where wrk is not installed: the same
plan, the same requests and the same counting, at a fraction of wrk's speed (it shares the
CPU with the service), so its figures are not the benchmark's."""

from __future__ import annotations

import asyncio
import time

import httpx

from bench.load import LoadPlan, LoadResult
from bench.stack import INGEST_PATH
from bench.stats import percentiles_ms


def run(base_url: str, token: str, plan: LoadPlan) -> LoadResult:
    return asyncio.run(_run(base_url, token, plan))


async def _run(base_url: str, token: str, plan: LoadPlan) -> LoadResult:
    latencies: list[float] = []
    counts = {"issued": 0, "accepted": 0, "errors": 0}
    interval = 1 / plan.rate if plan.rate else 0.0
    started = time.monotonic()
    stop_at = started + plan.seconds
    next_slot = started
    headers = {"content-type": "application/json", "x-service-token": token}

    async def connection(client: httpx.AsyncClient) -> None:
        nonlocal next_slot
        while counts["issued"] < plan.quota if plan.quota else time.monotonic() < stop_at:
            k = counts["issued"]
            counts["issued"] += 1
            if interval:
                next_slot = max(next_slot + interval, time.monotonic())
                await asyncio.sleep(next_slot - time.monotonic())
            body = plan.body(k % plan.threads + 1, k // plan.threads + 1)
            sent = time.monotonic()
            try:
                response = await client.post(INGEST_PATH, content=body, headers=headers)
            except httpx.TransportError:
                counts["errors"] += 1
                continue
            latencies.append(time.monotonic() - sent)
            counts["accepted" if response.status_code == 202 else "errors"] += 1

    limits = httpx.Limits(max_connections=plan.connections)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=10) as client:
        await asyncio.gather(*(connection(client) for _ in range(plan.connections)))
    p50, p99, worst = percentiles_ms(latencies, 50, 99, 100)
    return LoadResult(
        tool="python",
        seconds=time.monotonic() - started,
        requests=len(latencies),
        accepted=counts["accepted"],
        errors=counts["errors"],
        p50_ms=p50,
        p99_ms=p99,
        max_ms=worst,
    )
