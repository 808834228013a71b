"""The reconciliation's Graph calls, one at a time under the account's Conversations API
pace (RECONCILE_RATE), and backing off when Meta still says it is over the limit.

The pace is a token bucket in Postgres, the same as the sends' (`service.store.send_buckets`)
under its own key, so every worker shares it and it never takes a send's turn. Each call
is given its turn in the bucket's line, and waits for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from service.core.backoff import backoff_seconds
from service.core.runtime import Runtime
from service.instagram import RateLimitedError
from service.store import send_buckets

T = TypeVar("T")
log = structlog.get_logger("reconcile")

# Calls are spaced a little wider than 1 / RECONCILE_RATE: a call reaches Meta some
# milliseconds after its turn, and a sliding one-second window counts arrivals, so three
# calls spaced exactly 0.5 s apart are refused whenever the first came later than the
# third. A tenth of the interval is 50 ms at 2 a second, beyond the loopback's jitter.
HEADROOM = 0.9
# Rate-limited answers in a row before the run gives up (the next run starts over).
MAX_RATE_LIMITED = 6
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 60.0


def bucket_key(account_id: str) -> str:
    """The account's Conversations API bucket, beside its send bucket (keyed by id alone)."""
    return f"{account_id}:conversations"


class PacedCalls:
    """Graph calls for one account's run, each at its turn; counts them in `calls`."""

    def __init__(self, rt: Runtime, account_id: str) -> None:
        self._rt = rt
        self._account_id = account_id
        self.calls = 0

    async def call(self, request: Callable[[str], Awaitable[T]]) -> T:
        """`request(token)` at the account's turn; again after a rate limit, waiting as
        Meta asks (Retry-After) or doubling, at most `MAX_RATE_LIMITED` times."""
        attempt = 0
        while True:
            attempt += 1
            await self._turn()
            token = await self._rt.accounts.tokens(self._account_id).current()
            self.calls += 1
            try:
                return await request(token.value)
            except RateLimitedError as exc:
                if attempt >= MAX_RATE_LIMITED:
                    raise
                wait = max(
                    exc.retry_after or 0.0,
                    backoff_seconds(attempt, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS),
                )
                log.warning("reconcile rate-limited", account_id=self._account_id, wait=wait)
                await asyncio.sleep(wait)

    async def _turn(self) -> None:
        rate = self._rt.settings.reconcile_rate
        if rate <= 0:
            return
        # A need above the burst: the bucket's store never admits a call, so each takes its
        # turn in the line, at least 1 / rate after the turn before. Admitted from the store,
        # a call could follow the previous one at once, and a sliding second refuse the next.
        async with self._rt.pool.connection() as conn:
            took = await send_buckets.take(
                conn, bucket_key(self._account_id), rate=rate * HEADROOM, burst=1, need=2
            )
        await asyncio.sleep(took.wait_seconds)  # its turn: it goes then, without taking again
