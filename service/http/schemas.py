"""Request and response bodies of the internal API: names and shapes callers rely on."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import msgspec

# Non-empty, not blank, and storable in Postgres text (which cannot hold NUL).
Id = Annotated[
    str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")
]
Text = Annotated[str, msgspec.Meta(max_length=100_000, pattern=r"^[^\x00]*$")]
DmKind = Literal["verification", "acknowledgement", "custom"]


class IngestEventRequest(msgspec.Struct, kw_only=True):
    mid: Id
    sender_ig_id: Id
    recipient_ig_id: Id
    timestamp: str | int | float
    message_text: Text | None = None
    attachments: list[Any] | dict[str, Any] | None = None
    reply_to: dict[str, Any] | None = None
    quick_reply: dict[str, Any] | None = None
    is_echo: bool = False
    # "standby": another app controlled the conversation; recorded, never answered.
    source: Literal["messaging", "standby"] = "messaging"


class IngestEventResponse(msgspec.Struct):
    success: bool
    message: str


class GenerateVerificationRequest(msgspec.Struct, kw_only=True):
    ig_id: Id
    event_id: Id


class GenerateVerificationResponse(msgspec.Struct):
    token_hash: str
    expires_at: dt.datetime
    ig_id: str


class SendVerificationDmRequest(msgspec.Struct, kw_only=True):
    ig_id: Id
    token_plain: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]


class SendDmRequest(msgspec.Struct, kw_only=True):
    ig_id: Id
    message_text: Text
    kind: DmKind = "custom"


class SendDmResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    success: bool
    outbound_message_id: uuid.UUID
    remote_message_id: str | None = None
    status: str | None = None
    error: str | None = None


class DeliveryAccepted(msgspec.Struct):
    success: bool
    delivery_id: int
