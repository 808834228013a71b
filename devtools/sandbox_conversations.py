"""The sandbox's Instagram Conversations API, beside its Send API (`devtools.sandbox`), as
Meta documents it:

    GET /{account}/conversations?platform=instagram[&limit=N&after=CURSOR]
        -> {"data": [{"id", "updated_time"}], "paging": {"cursors": {"before", "after"},
           "next"}}   most recently updated first, `next` only when there is more
    GET /{conversation-id}?fields=messages
        -> {"id", "messages": {"data": [{"id", "created_time"}]}}   the 20 most recent
    GET /{message-id}?fields=...  -> {"id", "created_time", "from", "to", "message"}
        a message no longer among its conversation's 20 most recent: error code 100,
        deleted

Each answers at most `rate_limit_per_second` calls (2, Meta's) of one account within the
second before it; one more is answered with code 613, counted in `refused`, and is
nothing else. A test `record`s a message in its conversation, as Meta would on receiving
it, and then delivers its webhook or not: a message recorded and never delivered is a
webhook Meta lost. Other processes: `POST /_sandbox/conversations` `{"account_id",
"messages": [{"sender_id", "text", "mid"}]}` records, `GET /_sandbox/conversations` counts,
`POST /_sandbox/conversations/rate-limit` `{"per_second": N}` sets the limit (0: none).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from devtools.sandbox_accounts import graph_error
from devtools.sandbox_limits import RateWindow

MESSAGES_CAP = 20
DEFAULT_PAGE_SIZE = 25
RATE_LIMIT_PER_SECOND = 2.0
Answer = tuple[int, Any]


def meta_time(when: dt.datetime) -> str:
    """A time as the Graph API writes it: `2026-12-07T09:03:53+0000`."""
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


@dataclasses.dataclass
class _Conversation:
    id: str
    account_id: str
    updated_time: dt.datetime
    mids: list[str] = dataclasses.field(default_factory=list)  # oldest first


class Conversations:
    """Conversations and their messages; thread-safe (the server's loop answers, test
    threads record). `is_revoked` tells a refused token (the accounts' revocations)."""

    def __init__(self, is_revoked: Callable[[str], bool]) -> None:
        self._is_revoked = is_revoked
        self._lock = threading.Lock()
        self.rate_limit_per_second = RATE_LIMIT_PER_SECOND
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._conversations: dict[str, _Conversation] = {}
            self._by_pair: dict[tuple[str, str], str] = {}
            self._messages: dict[str, dict[str, Any]] = {}
            self._windows: dict[str, RateWindow] = {}
            self.calls = 0  # Conversations API requests answered, refused ones included
            self.refused = 0  # answered 613, over the rate limit
            self.rate_limit_per_second = RATE_LIMIT_PER_SECOND

    def record(
        self,
        account_id: str,
        sender_id: str,
        recipient_id: str,
        text: str,
        *,
        mid: str | None = None,
        created_time: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Keep a message in the conversation of the account and the other party, as Meta
        does on receiving it; the message as `GET /{message-id}` gives it."""
        created = created_time or dt.datetime.now(dt.UTC)
        other = recipient_id if sender_id == account_id else sender_id
        message: dict[str, Any] = {
            "id": mid or f"sandbox-mid-{uuid.uuid4().hex}",
            "created_time": meta_time(created),
            "from": {"id": sender_id, "username": f"user_{sender_id}"},
            "to": {"data": [{"id": recipient_id, "username": f"user_{recipient_id}"}]},
            "message": text,
        }
        with self._lock:
            key = (account_id, other)
            if key not in self._by_pair:
                conversation = _Conversation(
                    f"sandbox-conv-{uuid.uuid4().hex}", account_id, created
                )
                self._conversations[conversation.id] = conversation
                self._by_pair[key] = conversation.id
            conversation = self._conversations[self._by_pair[key]]
            conversation.mids.append(message["id"])
            conversation.updated_time = max(conversation.updated_time, created)
            self._messages[message["id"]] = message | {"_conversation": conversation.id}
        return message

    def record_all(self, account_id: str, messages: list[dict[str, Any]]) -> int:
        """`record` each of `messages` (`{sender_id, text, mid?}`) sent to the account, each
        in the conversation of its sender (`POST /_sandbox/conversations`)."""
        for item in messages:
            self.record(
                account_id,
                str(item["sender_id"]),
                account_id,
                str(item["text"]),
                mid=item.get("mid"),
            )
        return len(messages)

    def limit_rate(self, per_second: float) -> None:
        """Answer 613 to a call over `per_second` of one account (0: no limit)."""
        with self._lock:
            self.rate_limit_per_second = per_second
            self._windows.clear()

    def counts(self) -> dict[str, int]:
        """Requests answered and refused for pace, conversations and messages kept."""
        with self._lock:
            return {
                "calls": self.calls,
                "refused": self.refused,
                "conversations": len(self._conversations),
                "messages": len(self._messages),
            }

    def handles(self, method: str, parts: list[str]) -> bool:
        if method != "GET" or len(parts) < 2:
            return False
        with self._lock:
            return (len(parts) >= 3 and parts[-1] == "conversations") or (
                parts[-1] in self._conversations or parts[-1] in self._messages
            )

    def answer(self, parts: list[str], query: bytes, headers: dict[bytes, bytes]) -> Answer:
        params = {k: v[-1] for k, v in parse_qs(query.decode("latin-1")).items()}
        auth = headers.get(b"authorization", b"").decode("latin-1")
        token = auth[7:].strip() if auth.startswith("Bearer ") else params.get("access_token", "")
        if not token or self._is_revoked(token):
            return 400, graph_error("Error validating access token", 190)
        with self._lock:
            target = parts[-1]
            account_id = parts[-2] if target == "conversations" else self._account_of(target)
            if self._over_rate_limit(account_id):
                return 400, graph_error("Calls to this api have exceeded the rate limit.", 613)
            if target == "conversations":
                return self._list(account_id, params)
            if target in self._conversations:
                return 200, self._messages_edge(self._conversations[target])
            return self._message(target)

    def _account_of(self, target: str) -> str:
        if target in self._conversations:
            return self._conversations[target].account_id
        return self._conversations[self._messages[target]["_conversation"]].account_id

    def _over_rate_limit(self, account_id: str) -> bool:
        """Whether this call goes over the limit (else it counts against it); holds the lock."""
        self.calls += 1
        over = self._windows.setdefault(account_id, RateWindow()).over(self.rate_limit_per_second)
        self.refused += over
        return over

    def _list(self, account_id: str, params: dict[str, str]) -> Answer:
        if params.get("platform") != "instagram":
            return 400, graph_error("platform=instagram is required", 100)
        try:
            limit = max(1, int(params.get("limit", DEFAULT_PAGE_SIZE)))
            start = int(params.get("after", "0"))
        except ValueError:
            return 400, graph_error("limit and after must be numbers", 100)
        ordered = sorted(
            (c for c in self._conversations.values() if c.account_id == account_id),
            key=lambda c: c.updated_time,
            reverse=True,
        )
        page = ordered[start : start + limit]
        paging: dict[str, Any] = {"cursors": {"before": str(start), "after": str(start + limit)}}
        if start + limit < len(ordered):
            paging["next"] = f"/{account_id}/conversations?after={start + limit}"
        data = [{"id": c.id, "updated_time": meta_time(c.updated_time)} for c in page]
        return 200, {"data": data, "paging": paging}

    def _messages_edge(self, conversation: _Conversation) -> dict[str, Any]:
        recent = conversation.mids[-MESSAGES_CAP:][::-1]
        data = [{"id": mid, "created_time": self._messages[mid]["created_time"]} for mid in recent]
        return {"id": conversation.id, "messages": {"data": data}}

    def _message(self, mid: str) -> Answer:
        message = self._messages[mid]
        conversation = self._conversations[message["_conversation"]]
        if mid not in conversation.mids[-MESSAGES_CAP:]:
            return 400, graph_error("This message has been deleted", 100)
        return 200, {k: v for k, v in message.items() if not k.startswith("_")}
