"""Meta's per-second rate limits as the sandbox keeps them (`devtools.sandbox`): a call is
over the limit when `per_second` calls were accepted within the second before it."""

from __future__ import annotations

import collections
import time


class RateWindow:
    """The calls accepted within the last second; not thread-safe (its owner locks)."""

    def __init__(self) -> None:
        self._accepted: collections.deque[float] = collections.deque()  # monotonic times

    def over(self, per_second: float) -> bool:
        """Whether a call now goes over `per_second` (0: no limit); else it is counted."""
        if per_second <= 0:
            return False
        now = time.monotonic()
        while self._accepted and self._accepted[0] <= now - 1.0:
            self._accepted.popleft()
        if len(self._accepted) >= per_second:
            return True
        self._accepted.append(now)
        return False

    def clear(self) -> None:
        self._accepted.clear()
