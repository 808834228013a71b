"""The inbound message as the store writes it: the row `messages.ingest` inserts, and the
tombstone `messages.remember_unsend` keeps of a message unsent before it arrived."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from service.store.shared_items import SharedItem, shared_items


class InboundEvent(msgspec.Struct, kw_only=True, frozen=True):
    """A message as the service stores it (`service.store.messages.ingest`), its timestamp
    read (`service.messages.inbound.IngestEventRequest.to_event`).

    `shared_items` is computed from `attachments`, whatever is passed for it: the one place
    the column's value is made (`service.store.shared_items`), so the SQL only stores it."""

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
    shared_items: tuple[SharedItem, ...] = ()

    def __post_init__(self) -> None:
        # An unsend's content, if any came, is ignored: it shares nothing.
        items = () if self.is_deleted else shared_items(self.attachments)
        msgspec.structs.force_setattr(self, "shared_items", items)
