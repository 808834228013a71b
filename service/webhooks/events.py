"""The value types that `service.webhooks.parse` produces from one Meta webhook delivery.

`InboundMessage` is the internal ingest endpoint's request (`to_ingest_body`), an unsend
and a postback with a mid included, plus the flag the forwarder needs to decide whether to
forward it; `InboundEdit` is the edit endpoint's. Everything else Meta sends on the
messaging fields (reactions, reads, postbacks without a mid, referrals, unknown kinds) is
kept as an `OtherEvent` with its raw item, so it can be logged or stored without being
ingested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import msgspec

from service.messages.edits import IngestEditRequest
from service.messages.inbound import IngestEventRequest


class InboundMessage(IngestEventRequest, kw_only=True, frozen=True):
    """One `message` event, a DM to our account or an echo of one we sent: the ingest
    request it becomes, plus two facts that decide whether it is forwarded at all.

    Its `timestamp` is in milliseconds. Its `attachments` are kept exactly as Meta sent them
    (image, video, audio, file, share, story_mention, ig_reel, reel, ig_post, ephemeral,
    like_heart, ...): saved reels and posts are the product, and a type we do not know yet
    must still reach the database. Its `source` is "standby" when another app controlled the
    conversation (Meta's handover protocol): that app answers, we must not.
    """

    # Meta could not render it (e.g. some stickers and GIFs): recorded, not answered.
    is_unsupported: bool = False

    def to_ingest_body(self) -> dict[str, Any]:
        """The body for `POST /api/internal/ingest-event`: the request's fields, without
        those left at their defaults."""
        # Built, not validated: the endpoint validates, and a refusal is recorded.
        body = msgspec.to_builtins(self)
        return {name: body[name] for name in IngestEventRequest.__struct_fields__ if name in body}


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """A messaging event that is not a message to ingest.

    `kind` is one of "reaction", "read", "postback", "referral", "optin" or "unknown".
    `mid` is the message the event refers to, when Meta names one.
    """

    kind: str
    sender_id: str | None
    recipient_id: str | None
    timestamp_ms: int | None
    mid: str | None
    raw: dict[str, Any]


class InboundEdit(IngestEditRequest, kw_only=True, frozen=True):
    """One `message_edit` event: the body of `POST /api/internal/ingest-edit` as it is."""

    def to_ingest_body(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)


@dataclass(frozen=True, slots=True)
class ParsedDelivery:
    """Everything one delivery held, in delivery order, plus what was wrong with it: the
    messages and edits refused (where, and which rule of the ingest endpoint's they broke),
    and warnings about the rest."""

    messages: tuple[InboundMessage, ...] = ()
    other_events: tuple[OtherEvent, ...] = ()
    warnings: tuple[str, ...] = field(default=())
    edits: tuple[InboundEdit, ...] = ()
    refused: tuple[str, ...] = ()
