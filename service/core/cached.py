"""A value computed at most once per period, in one event loop.

What `/metrics` reads from the database is kept this way: however many scrapes arrive, and
however many at once, the database sees one computation per period. Callers that ask while
a computation runs wait for it and share its result; one that gives up (a client gone)
leaves it running for the others.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Cached(Generic[T]):
    def __init__(self, *, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._value: T | None = None
        self._computed_at: float | None = None
        self._running: asyncio.Future[T] | None = None

    async def get(self, compute: Callable[[], Awaitable[T]]) -> T:
        """The kept value while it is fresh; else the result of `compute()`, run once for
        every caller that asks before it finishes. A computation that raises keeps nothing."""
        if self._computed_at is not None and self._clock() - self._computed_at < self.seconds:
            return self._value  # type: ignore[return-value]  # set with _computed_at
        if self._running is None:
            self._running = asyncio.ensure_future(self._refresh(compute))
        return await asyncio.shield(self._running)

    async def _refresh(self, compute: Callable[[], Awaitable[T]]) -> T:
        try:
            value = await compute()
            self._value, self._computed_at = value, self._clock()
            return value
        finally:
            self._running = None
