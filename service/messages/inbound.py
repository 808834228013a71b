"""The inbound message, in its two shapes.

`IngestEventRequest` is the body of `POST /api/internal/ingest-event` as the spec writes it
(plus `is_deleted`, an unsend): the endpoint decodes it and the webhook forwarder writes it.
`InboundEvent` (`service.store.inbound_event`) is the message as the service stores it, its
timestamp read (`to_event`).
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from service.messages.field_rules import Id, Text
from service.messages.timestamps import parse_event_timestamp
from service.store.inbound_event import InboundEvent

# "standby": another app controlled the conversation; recorded, never answered.
# "postback": an ice breaker or button tap, its title as the text; answered like a message,
# never handed to Phase 3.
Source = Literal["messaging", "standby", "postback"]


# omit_defaults: an encoded request leaves out what the endpoint would default anyway.
class IngestEventRequest(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    mid: Id
    sender_ig_id: Id
    recipient_ig_id: Id
    # Unix seconds or milliseconds, as a number or digits, or ISO 8601 (`parse_event_timestamp`).
    timestamp: str | int | float
    message_text: Text | None = None
    attachments: list[Any] | dict[str, Any] | None = None
    reply_to: dict[str, Any] | None = None
    quick_reply: dict[str, Any] | None = None
    is_echo: bool = False
    source: Source = "messaging"
    # An unsend (Meta's `is_deleted`): the message of this mid is to be forgotten, whether it
    # is stored already or arrives later; its text and attachments, if any, are ignored.
    is_deleted: bool = False
    # A postback's payload: what the business set on the ice breaker or button tapped.
    postback_payload: Text | None = None

    def to_event(self) -> InboundEvent:
        """The message to store; ValueError, with a message fit for the caller, if the
        timestamp cannot be read."""
        # asdict is shallow: the attachments are handed on, not copied.
        fields = msgspec.structs.asdict(self)
        fields["timestamp"] = parse_event_timestamp(self.timestamp)
        return msgspec.convert(fields, InboundEvent)
