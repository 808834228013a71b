"""What the sandbox's Send API (`devtools.sandbox`) takes and keeps: a valid text send, the
DM it records, and the answers a test scripts for the next sends."""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Mapping
from typing import Any

MAX_TEXT_BYTES = 1000  # Meta's limit, enforced here as Meta does


@dataclasses.dataclass(frozen=True)
class ScriptedResponse:
    """One scripted answer. `body`: JSON value or raw text; None: Meta's success answer on a
    2xx, an empty body otherwise. `deliver`: record the DM (default: iff 2xx)."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    delay_seconds: float = 0.0
    deliver: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, int) or not 100 <= self.status <= 599:
            raise ValueError(f"status must be an HTTP status code, not {self.status!r}")

    @property
    def delivers(self) -> bool:
        return self.deliver if self.deliver is not None else 200 <= self.status < 300


@dataclasses.dataclass(frozen=True)
class SandboxMessage:
    recipient_id: str
    text: str
    message_id: str
    received_at: datetime.datetime
    scoped_id: str
    # When the request reached the sandbox, before its latency: where a benchmark's clock
    # for "the DM reached Meta" stops.
    arrived_at: datetime.datetime

    def listed(self) -> dict[str, Any]:
        """As `GET /_sandbox/messages` lists it."""
        return dataclasses.asdict(self) | {
            "received_at": self.received_at.isoformat(),
            "arrived_at": self.arrived_at.isoformat(),
        }


def parse_dm(raw: bytes) -> tuple[str, str] | str:
    """(recipient_id, text), or why the body is not a valid text send."""
    try:
        document = json.loads(raw)
        recipient_id, text = document["recipient"]["id"], document["message"]["text"]
    except (ValueError, TypeError, KeyError):
        return "Body must be {recipient: {id}, message: {text}}"
    if not isinstance(recipient_id, str) or not recipient_id:
        return "recipient.id must be a non-empty string"
    if not isinstance(text, str) or not text:
        return "message.text must be a non-empty string"
    if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
        return f"message.text is longer than {MAX_TEXT_BYTES} bytes"
    return recipient_id, text


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)
