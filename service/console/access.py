"""Who may use the console: the password, the signed session cookie, the sign-in's rate limit.

The session is a cookie signed with a key derived from CONSOLE_PASSWORD (itsdangerous,
timestamped), holding the operator's name and nothing secret: changing the password signs
every operator out. It is HttpOnly, SameSite=Strict, limited to /console, and Secure when
the request came over https (behind a proxy, as uvicorn's forwarded headers say).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import time
from collections.abc import Callable

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "console_session"
CSRF_COOKIE = "console_csrf"
CSRF_HEADER = "x-csrftoken"
COOKIE_PATH = "/console"
SESSION_SECONDS = 12 * 3600
# Sign-in failures allowed per client address within the window, then 429 until the oldest
# ages out: 10 guesses in 15 minutes, about 1000 a day, against a 16-character password.
MAX_FAILURES = 10
FAILURE_WINDOW_SECONDS = 15 * 60
# Addresses remembered at most; past that the stalest go first, so memory stays bounded.
MAX_ADDRESSES = 10_000


def derive_key(password: str, purpose: str) -> str:
    """A key for one purpose (the session, CSRF), so that none is the password itself."""
    return hmac.new(password.encode(), f"reeva-console-{purpose}".encode(), "sha256").hexdigest()


def password_matches(given: str, expected: str) -> bool:
    """Constant-time, whatever the lengths (both are hashed first)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


class Sessions:
    def __init__(self, password: str) -> None:
        self._signer = URLSafeTimedSerializer(derive_key(password, "session"), salt="session")

    def issue(self, operator: str) -> str:
        return self._signer.dumps({"operator": operator})

    def operator(self, cookie: str | None) -> str | None:
        """The signed-in operator's name; None for no cookie, a forged or an expired one."""
        if not cookie:
            return None
        try:
            value = self._signer.loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:  # SignatureExpired is one too
            return None
        operator = value.get("operator") if isinstance(value, dict) else None
        return operator if isinstance(operator, str) and operator else None


class LoginLimiter:
    """Failed sign-ins per client address, in this process's memory: several web processes
    each allow MAX_FAILURES, and a restart forgets (docs/operations.md says so)."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: collections.OrderedDict[str, collections.deque[float]] = (
            collections.OrderedDict()
        )

    def wait_seconds(self, address: str) -> float:
        """0 if `address` may try now, else how long until it may."""
        failures = self._recent(address)
        if len(failures) < MAX_FAILURES:
            return 0.0
        return max(failures[0] + FAILURE_WINDOW_SECONDS - self._clock(), 1.0)

    def failed(self, address: str) -> None:
        self._recent(address).append(self._clock())
        self._failures.move_to_end(address)
        while len(self._failures) > MAX_ADDRESSES:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)

    def _recent(self, address: str) -> collections.deque[float]:
        failures = self._failures.setdefault(address, collections.deque())
        cutoff = self._clock() - FAILURE_WINDOW_SECONDS
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures
