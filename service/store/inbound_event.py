"""The inbound message as the store writes it: the row `messages.ingest` inserts, and the
tombstone `messages.remember_unsend` keeps of a message unsent before it arrived."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec


class InboundEvent(msgspec.Struct, kw_only=True, frozen=True):
    """A message as the service stores it (`service.store.messages.ingest`), its timestamp
    read (`service.messages.inbound.IngestEventRequest.to_event`)."""

    mid: str
    sender_ig_id: str
    recipient_ig_id: str
    timestamp: dt.datetime
    message_text: str | None = None
    attachments: Any = None
    reply_to: Any = None
    quick_reply: Any = None
    is_echo: bool = False
    source: str = "messaging"
    is_deleted: bool = False
    postback_payload: str | None = None
