"""Exponential backoff: the one formula for every wait that doubles.

Every retry and polling loop waits through here: the DM sends and webhook forwarding
(`RetryLater`), the worker's retry of unexpected errors (`workers.retry_strategy`), the
worker loop's restarts and its wait for the database (`workers.main`), the wait for a
DM's outcome (`service.dms.asks`) and the Phase 3 consumer's failed rows
(`service.phase3.consumer`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

# Past any cap for any base worth having, and keeps 2**n a finite float for any attempt.
_MAX_EXPONENT = 64


def backoff_seconds(attempt: int, *, base: float, cap: float) -> float:
    """The wait before try number `attempt` (1-based): base, 2 base, 4 base, ..., at most
    `cap`. An attempt below 1 waits `base`."""
    exponent = min(max(attempt - 1, 0), _MAX_EXPONENT)
    return min(cap, base * 2.0**exponent)


def waits(*, base: float, cap: float) -> Iterator[float]:
    """The waits of attempts 1, 2, 3, ... without end: the pauses of a polling loop."""
    for attempt in itertools.count(1):
        yield backoff_seconds(attempt, base=base, cap=cap)
