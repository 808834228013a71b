"""A value computed at most once per period, and once for all who ask at the same time."""

from __future__ import annotations

import asyncio

import pytest

from service.core.cached import Cached


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Computation:
    """Counts its runs; each run sets `started`, then waits until `release` is set."""

    def __init__(self) -> None:
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.release.set()

    async def __call__(self) -> int:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        return self.runs


def test_a_value_is_computed_again_only_once_its_period_has_passed() -> None:
    async def run() -> list[int]:
        clock, compute = Clock(), Computation()
        cached = Cached(seconds=10, clock=clock)
        seen = [await cached.get(compute)]
        clock.now += 9.9
        seen.append(await cached.get(compute))
        clock.now += 0.2
        seen.append(await cached.get(compute))
        return seen

    assert asyncio.run(run()) == [1, 1, 2]


@pytest.mark.parametrize("seconds", [10, 0])
def test_callers_at_the_same_time_share_one_computation(seconds: float) -> None:
    async def run() -> tuple[list[int], int]:
        compute = Computation()
        compute.release.clear()
        cached = Cached(seconds=seconds, clock=Clock())
        callers = [asyncio.create_task(cached.get(compute)) for _ in range(50)]
        await asyncio.wait_for(compute.started.wait(), timeout=5)
        compute.release.set()
        return await asyncio.gather(*callers), compute.runs

    values, runs = asyncio.run(run())
    assert runs == 1 and values == [1] * 50


def test_a_caller_that_gives_up_does_not_cancel_the_others_computation() -> None:
    async def run() -> int:
        compute = Computation()
        compute.release.clear()
        cached = Cached(seconds=10, clock=Clock())
        impatient = asyncio.create_task(cached.get(compute))
        patient = asyncio.create_task(cached.get(compute))
        await asyncio.wait_for(compute.started.wait(), timeout=5)
        impatient.cancel()
        compute.release.set()
        return await patient

    assert asyncio.run(run()) == 1


def test_a_computation_that_raises_is_not_kept() -> None:
    async def run() -> int:
        cached = Cached(seconds=10, clock=Clock())

        async def broken() -> int:
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            await cached.get(broken)
        return await cached.get(Computation())

    assert asyncio.run(run()) == 1
