"""How many sign-in guesses the console allows, whatever sits in front of it.

Three counts of failures, in this process's memory (several web processes each count
their own, and a restart forgets; docs/operations.md says so):
- per client address: MAX_FAILURES within FAILURE_WINDOW_SECONDS. Behind a proxy that
  uvicorn trusts (FORWARDED_ALLOW_IPS) the address is the client's; behind one it does not
  trust, every client shares the proxy's address.
- every address together: MAX_FAILURES_PER_MINUTE. A client that can choose its address
  (a fresh X-Forwarded-For on each request, through a proxy that passes it on) gets no
  more guesses than this, about 43 000 a day against a password of 16 characters or more.
- per device: a browser that signed in before carries a signed device cookie
  (`access.DEVICE_COOKIE`); its sign-ins count only against the device's own
  MAX_FAILURES, so a stranger who holds the address or the global count cannot lock
  out an operator who has signed in from that browser before, right password in hand.
Operator names are not a key: anyone may type any name, so a count per name would let a
stranger lock a named operator out, and would limit no one who varies the name.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_MINUTE = 30
# Addresses and devices remembered at most; past that the stalest go first, so memory
# stays bounded.
MAX_KEYS = 10_000


class _Failures:
    """Failure times per key within a window; `wait` says how long a key is held."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._times: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )

    def wait(self, key: str) -> float:
        times = self._recent(key)
        if len(times) < self.limit:
            return 0.0
        return max(times[0] + self.window - self.clock(), 1.0)

    def add(self, key: str) -> None:
        self._recent(key).append(self.clock())
        self._times.move_to_end(key)
        while len(self._times) > MAX_KEYS:
            self._times.popitem(last=False)

    def clear(self, key: str) -> None:
        self._times.pop(key, None)

    def _recent(self, key: str) -> collections.deque[float]:
        times = self._times.setdefault(key, collections.deque())
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        return times


class SignInLimiter:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._addresses = _Failures(MAX_FAILURES, FAILURE_WINDOW_SECONDS, clock)
        self._everyone = _Failures(MAX_FAILURES_PER_MINUTE, 60.0, clock)
        self._devices = _Failures(MAX_FAILURES, FAILURE_WINDOW_SECONDS, clock)

    def wait_seconds(self, address: str, device: str | None = None) -> float:
        """0 if a sign-in from `address` (with a known `device`, if any) may be tried
        now, else how long until it may."""
        if device is not None:
            return self._devices.wait(device)
        return max(self._addresses.wait(address), self._everyone.wait(""))

    def failed(self, address: str, device: str | None = None) -> None:
        if device is not None:
            self._devices.add(device)
            return
        self._addresses.add(address)
        self._everyone.add("")

    def succeeded(self, address: str, device: str | None = None) -> None:
        if device is not None:
            self._devices.clear(device)
        else:
            self._addresses.clear(address)
