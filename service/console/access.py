"""Who may use the console: the password, the signed session cookie, the device cookie of a
browser that signed in before (`signin_limits` counts its failures apart).

The session is a cookie signed with a key derived from CONSOLE_PASSWORD (itsdangerous,
timestamped), holding the operator's name and nothing secret: changing the password signs
every operator out. It is HttpOnly, SameSite=Strict, limited to /console, and Secure when
the request came over https (behind a proxy, as uvicorn's forwarded headers say).
"""

from __future__ import annotations

import hashlib
import hmac

from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "console_session"
CSRF_COOKIE = "console_csrf"
CSRF_HEADER = "x-csrftoken"
COOKIE_PATH = "/console"
SESSION_SECONDS = 12 * 3600
DEVICE_COOKIE = "console_device"
DEVICE_SECONDS = 90 * 86400


def derive_key(password: str, purpose: str) -> str:
    """A key for one purpose (the session, CSRF), so that none is the password itself."""
    return hmac.new(password.encode(), f"reeva-console-{purpose}".encode(), "sha256").hexdigest()


def password_matches(given: str, expected: str) -> bool:
    """Constant-time, whatever the lengths (both are hashed first)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


class Sessions:
    """Signed cookies naming an operator: the session, or (`purpose="device"`) the mark of
    a browser that signed in before."""

    def __init__(
        self, password: str, *, purpose: str = "session", max_age: int = SESSION_SECONDS
    ) -> None:
        self._signer = URLSafeTimedSerializer(derive_key(password, purpose), salt=purpose)
        self._max_age = max_age

    def issue(self, operator: str) -> str:
        return self._signer.dumps({"operator": operator})

    def operator(self, cookie: str | None) -> str | None:
        """The signed-in operator's name; None for no cookie, a forged or an expired one."""
        if not cookie:
            return None
        try:
            value = self._signer.loads(cookie, max_age=self._max_age)
        except BadSignature:  # SignatureExpired is one too
            return None
        operator = value.get("operator") if isinstance(value, dict) else None
        return operator if isinstance(operator, str) and operator else None
