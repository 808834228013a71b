"""The sandbox's reads of one object (`devtools.sandbox`), beside its Send API:

    GET /{IGSID}?fields=name,username,profile_pic,...   (the User Profile API)
        -> {"name", "username", "profile_pic", "is_verified_user", "follower_count",
            "is_user_follow_business", "is_business_follow_user", "id"}
    GET /{mid}?fields=attachments   -> {"id", "attachments": {"data": [...]}}
    GET /{mid}?fields=story         -> {"id", "story": {"mention": {"link", "id"}}}

Any IGSID has a made-up profile unless scripted: `set_profile` gives it fields of a test's
own, `refuse(ig_id, "consent")` makes it answer Meta's error 230 (the user has not written
to the account) and `refuse(ig_id, "unavailable")` error 551. A message is known once
`set_message` gave it attachments (or a story mention); `drop_message` makes it answer as
Meta does for a message it no longer has (code 100, subcode 33); an unknown mid answers
the same. A revoked token (`Accounts.revoke`) is answered with code 190. Control endpoints:
`POST /_sandbox/profiles` (`{"ig_id", "profile"}` or `{"ig_id", "refuse"}`),
`POST /_sandbox/media` (`{"mid", "attachments"}`, `{"mid", "story_url"}` or
`{"mid", "gone": true}`), `GET /_sandbox/reads` (the reads made, by kind).
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from devtools.sandbox_accounts import Accounts, graph_error

CONSENT_REQUIRED = (230, "User consent is required to access user profile")
UNAVAILABLE = (551, "This person isn't available right now.")
_REFUSALS = {"consent": CONSENT_REQUIRED, "unavailable": UNAVAILABLE}
_MISSING = "Unsupported get request. Object with ID '{}' does not exist"


class Objects:
    """Profiles and messages to read; thread-safe (the server's loop writes, tests read)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._profiles: dict[str, dict[str, Any]] = {}
        self._refused: dict[str, tuple[int, str]] = {}
        self._messages: dict[str, dict[str, Any] | None] = {}
        self.reads: collections.Counter[str] = collections.Counter()
        self.tokens: list[str] = []  # the bearer token of each read, in order

    def reset(self) -> None:
        with self._lock:
            self._profiles.clear()
            self._refused.clear()
            self._messages.clear()
            self.reads.clear()
            self.tokens.clear()

    def set_profile(self, ig_id: str, **fields: Any) -> None:
        with self._lock:
            self._profiles[ig_id] = fields
            self._refused.pop(ig_id, None)

    def refuse(self, ig_id: str, why: str) -> None:
        """`why`: "consent" (error 230) or "unavailable" (error 551)."""
        with self._lock:
            self._refused[ig_id] = _REFUSALS[why]

    def set_message(
        self, mid: str, *, attachments: list[Any] | None = None, story_url: str | None = None
    ) -> None:
        with self._lock:
            self._messages[mid] = {"attachments": attachments, "story_url": story_url}

    def drop_message(self, mid: str) -> None:
        with self._lock:
            self._messages[mid] = None

    def answer(
        self, accounts: Accounts, parts: list[str], query: bytes, headers: Mapping[bytes, bytes]
    ) -> tuple[int, Any]:
        """The answer to `GET /{id}?fields=...`, by the fields asked for."""
        auth = headers.get(b"authorization", b"").decode("latin-1")
        with self._lock:
            self.tokens.append(auth[7:].strip())
        if not auth.startswith("Bearer ") or accounts.is_revoked(auth[7:].strip()):
            return 400, graph_error("Error validating access token", 190)
        fields = parse_qs(query.decode("latin-1")).get("fields", [""])[-1].split(",")
        object_id = parts[-1]
        if "attachments" in fields or "story" in fields:
            return self._message(object_id, "story" if "story" in fields else "attachments")
        return self._profile(object_id)

    def _profile(self, ig_id: str) -> tuple[int, Any]:
        with self._lock:
            self.reads["profile"] += 1
            if ig_id in self._refused:
                code, message = self._refused[ig_id]
                return 400, graph_error(message, code)
            scripted = self._profiles.get(ig_id)
        profile = {
            "name": f"Sandbox User {ig_id[-4:]}",
            "username": f"sandbox_{ig_id[-6:]}",
            "profile_pic": f"https://sandbox.invalid/pic/{ig_id}.jpg",
            "is_verified_user": False,
            "follower_count": 42,
            "is_user_follow_business": False,
            "is_business_follow_user": False,
        }
        return 200, {**profile, **(scripted or {}), "id": ig_id}

    def _message(self, mid: str, field: str) -> tuple[int, Any]:
        with self._lock:
            self.reads[field] += 1
            known = self._messages.get(mid)
        if known is None:
            error = graph_error(_MISSING.format(mid), 100)
            error["error"]["error_subcode"] = 33
            return 400, error
        if field == "story":
            return 200, {"id": mid, "story": {"mention": {"link": known["story_url"], "id": mid}}}
        return 200, {"id": mid, "attachments": {"data": known["attachments"] or []}}

    def control(self, method: str, path: str, document: Any) -> tuple[int, Any] | None:
        """A control endpoint's answer, or None when `path` is not one of these."""
        if (method, path) == ("GET", "/_sandbox/reads"):
            with self._lock:
                return 200, dict(self.reads)
        if not isinstance(document, dict) or method != "POST":
            return None
        if path == "/_sandbox/profiles" and document.get("refuse") in _REFUSALS:
            self.refuse(str(document.get("ig_id")), document["refuse"])
            return 200, {"refused": True}
        if path == "/_sandbox/profiles":
            self.set_profile(str(document.get("ig_id")), **dict(document.get("profile") or {}))
            return 200, {"profile": True}
        if path == "/_sandbox/media" and document.get("gone") is True:
            self.drop_message(str(document.get("mid")))
            return 200, {"gone": True}
        if path == "/_sandbox/media":
            self.set_message(
                str(document.get("mid")),
                attachments=document.get("attachments"),
                story_url=document.get("story_url"),
            )
            return 200, {"media": True}
        return None


def route(
    accounts: Accounts, objects: Objects, method: str, parts: list[str], scope: dict[str, Any]
) -> tuple[int, Any] | None:
    """The answer of the account endpoints (`Accounts`) or of a read of one object
    (`GET /{id}` after any version path); None for any other request."""
    query, headers = scope["query_string"], dict(scope["headers"])
    if accounts.handles(method, parts):
        return accounts.answer(method, parts, query, headers)
    if method == "GET" and len(parts) >= 2 and parts[-1] and not parts[-1].startswith("_"):
        return objects.answer(accounts, parts, query, headers)
    return None
