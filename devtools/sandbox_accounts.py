"""The sandbox's account endpoints, beside its Send API (`devtools.sandbox`):

    GET  /refresh_access_token?grant_type=ig_refresh_token&access_token=T  (no version path)
         -> {"access_token": <new>, "token_type": "bearer", "expires_in": 5184000}
    GET  /{scoped_id}/subscribed_apps  -> {"data": [{"id", "subscribed_fields": [...]}]}
    POST /{scoped_id}/subscribed_apps?subscribed_fields=a,b  -> {"success": true}
    GET  /me?fields=user_id,username  -> the token's account: {"id", "user_id", "username"}

Several accounts: `add(ig_id, token)` gives an account its token (and, optionally, its own
rate limit); a Send API request with an account's token to another account's path is
refused (code 190), as is `GET /me` with a token no account holds.

A fresh sandbox has no subscription (as a new app). Tests script it: `revoke(token)` makes
every endpoint, the Send API included, answer that token with code 190; `script_refresh`
queues answers for the next refreshes; `unsubscribe` drops a subscription, as Meta does
after an hour of failed deliveries. Control endpoints for other processes:
`POST /_sandbox/revoke` `{"token": ...}`, `POST /_sandbox/unsubscribe` `{"scoped_id": ...}`,
`POST /_sandbox/account` `{"ig_id", "token", "username"?, "rate_limit"?}`,
`GET /_sandbox/accounts` (refreshes made, subscriptions).
"""

from __future__ import annotations

import collections
import threading
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

REFRESHED_LIFETIME_SECONDS = 60 * 86400
SANDBOX_APP_ID = "sandbox-app"


class Accounts:
    """Tokens, refreshes and webhook subscriptions; thread-safe (the server's loop writes,
    test threads read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: set[str] = set()
        self._refresh_script: collections.deque[tuple[int, Any]] = collections.deque()
        self._subscriptions: dict[str, list[str]] = {}
        self.refreshes = 0  # refresh requests, whatever their answer
        self.issued: list[str] = []  # tokens issued by refreshes, oldest first
        self.send_tokens: list[str] = []  # the bearer token of each Send API request
        self._owners: dict[str, str] = {}  # token -> the account's user_id
        self._usernames: dict[str, str] = {}
        self.rate_limits: dict[str, float] = {}  # an account's own sends a second

    def reset(self) -> None:
        with self._lock:
            self._revoked.clear()
            self._refresh_script.clear()
            self._subscriptions.clear()
            self.refreshes = 0
            self.issued.clear()
            self.send_tokens.clear()
            self._owners.clear()
            self._usernames.clear()
            self.rate_limits.clear()

    def add(
        self, ig_id: str, token: str, *, username: str | None = None, rate_limit: float = 0.0
    ) -> None:
        """An account whose token is `token`; `rate_limit`: its own sends a second (0: the
        sandbox's)."""
        with self._lock:
            self._owners[token] = ig_id
            self._usernames[ig_id] = username or f"account_{ig_id}"
            if rate_limit:
                self.rate_limits[ig_id] = rate_limit

    def revoke(self, token: str) -> None:
        with self._lock:
            self._revoked.add(token)

    def script_refresh(self, status: int, body: Any) -> None:
        """The next refresh answers this (e.g. 400 with a code 190 error)."""
        with self._lock:
            self._refresh_script.append((status, body))

    def subscribe(self, scoped_id: str, fields: list[str]) -> None:
        with self._lock:
            self._subscriptions[scoped_id] = list(fields)

    def unsubscribe(self, scoped_id: str) -> None:
        with self._lock:
            self._subscriptions.pop(scoped_id, None)

    def subscriptions(self) -> dict[str, list[str]]:
        with self._lock:
            return {k: list(v) for k, v in self._subscriptions.items()}

    def is_revoked(self, token: str) -> bool:
        with self._lock:
            return token in self._revoked

    def refused(self, token: str, scoped_id: str) -> bool:
        """Whether `token` was revoked, or is another account's than `scoped_id`'s; records
        it as a send's token."""
        with self._lock:
            self.send_tokens.append(token)
            owner = self._owners.get(token)
            return token in self._revoked or owner not in (None, scoped_id)

    def handles(self, method: str, parts: list[str]) -> bool:
        return (method, parts[-1]) in (("GET", "refresh_access_token"), ("GET", "me")) or (
            method in ("GET", "POST") and len(parts) >= 3 and parts[-1] == "subscribed_apps"
        )

    def answer(
        self, method: str, parts: list[str], query: bytes, headers: Mapping[bytes, bytes]
    ) -> tuple[int, Any]:
        params = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()}
        if parts[-1] == "refresh_access_token":
            return self._refresh(params)
        auth = headers.get(b"authorization", b"").decode("latin-1")
        token = auth[7:].strip() if auth.startswith("Bearer ") else params.get("access_token", "")
        if not token:
            return 400, graph_error("An active access token must be used", 190)
        with self._lock:
            if token in self._revoked:
                return 400, graph_error("Error validating access token", 190)
            owner = self._owners.get(token)
        if parts[-1] == "me":
            if owner is None:
                return 400, graph_error("Invalid OAuth access token", 190)
            return 200, {"id": f"app-{owner}", "user_id": owner, "username": self._usernames[owner]}
        scoped_id = parts[-2]
        if method == "GET":
            fields = self.subscriptions().get(scoped_id)
            apps = [] if fields is None else [{"id": SANDBOX_APP_ID, "subscribed_fields": fields}]
            return 200, {"data": apps}
        requested = [f for f in params.get("subscribed_fields", "").split(",") if f]
        if not requested:
            return 400, graph_error("subscribed_fields is required", 100)
        self.subscribe(scoped_id, requested)
        return 200, {"success": True}

    def _refresh(self, params: Mapping[str, str]) -> tuple[int, Any]:
        token = params.get("access_token", "")
        with self._lock:
            self.refreshes += 1
            if params.get("grant_type") != "ig_refresh_token":
                return 400, graph_error("grant_type must be ig_refresh_token", 100)
            if not token or token in self._revoked:
                return 400, graph_error("Error validating access token", 190)
            if self._refresh_script:
                return self._refresh_script.popleft()
            new = f"sandbox-refreshed-{uuid.uuid4().hex}"
            self.issued.append(new)
        body = {
            "access_token": new,
            "token_type": "bearer",
            "expires_in": REFRESHED_LIFETIME_SECONDS,
        }
        return 200, body

    def control(self, method: str, path: str, document: Any) -> tuple[int, Any] | None:
        """A control endpoint's answer, or None when `path` is not one of these."""
        if (method, path) == ("GET", "/_sandbox/accounts"):
            with self._lock:
                return 200, {
                    "refreshes": self.refreshes,
                    "issued": len(self.issued),
                    "subscriptions": dict(self._subscriptions),
                }
        if (method, path) == ("POST", "/_sandbox/revoke") and isinstance(document, dict):
            self.revoke(str(document.get("token", "")))
            return 200, {"revoked": True}
        if (method, path) == ("POST", "/_sandbox/account") and isinstance(document, dict):
            self.add(
                str(document.get("ig_id", "")),
                str(document.get("token", "")),
                username=document.get("username"),
                rate_limit=float(document.get("rate_limit") or 0),
            )
            return 200, {"added": True}
        if (method, path) == ("POST", "/_sandbox/unsubscribe") and isinstance(document, dict):
            self.unsubscribe(str(document.get("scoped_id", "")))
            return 200, {"unsubscribed": True}
        return None


def graph_error(message: str, code: int) -> dict[str, Any]:
    kind = "OAuthException" if code == 190 else "IGApiException"
    trace = uuid.uuid4().hex[:12]
    return {"error": {"message": message, "type": kind, "code": code, "fbtrace_id": trace}}
