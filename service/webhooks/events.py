"""The value types that `service.webhooks.parse` produces from one Meta webhook delivery.

`InboundMessage` carries what the internal ingest endpoint takes (`to_ingest_body`), plus
the flags the service needs to decide whether to answer. Everything else Meta sends on the
messaging fields (reactions, reads, postbacks, referrals, edits, unknown kinds) is kept as
an `OtherEvent` with its raw item, so it can be logged or stored without being ingested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One `message` event: a DM to our account, or an echo of one we sent."""

    mid: str
    sender_ig_id: str
    recipient_ig_id: str
    timestamp_ms: int
    message_text: str | None = None
    # Kept exactly as Meta sent them (image, video, audio, file, share, story_mention,
    # ig_reel, reel, ig_post, ephemeral, like_heart, ...): saved reels and posts are the
    # product, and a type we do not know yet must still reach the database.
    attachments: list[dict[str, Any]] | None = None
    reply_to: dict[str, Any] | None = None
    quick_reply: dict[str, Any] | None = None
    is_echo: bool = False
    # The sender unsent it: the service records it and never answers it.
    is_deleted: bool = False
    # Meta could not render it (e.g. some stickers and GIFs): recorded, not answered.
    is_unsupported: bool = False
    # "standby" when another app controlled the conversation (Meta's handover protocol):
    # that app answers, we must not.
    source: str = "messaging"

    def to_ingest_body(self) -> dict[str, Any]:
        """The body for `POST /api/internal/ingest-event`, without None-valued optional keys."""
        body: dict[str, Any] = {
            "mid": self.mid,
            "sender_ig_id": self.sender_ig_id,
            "recipient_ig_id": self.recipient_ig_id,
            "timestamp": self.timestamp_ms,
            "is_echo": self.is_echo,
        }
        optional = {
            "message_text": self.message_text,
            "attachments": self.attachments,
            "reply_to": self.reply_to,
            "quick_reply": self.quick_reply,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        if self.source != "messaging":
            body["source"] = self.source
        return body


@dataclass(frozen=True, slots=True)
class OtherEvent:
    """A messaging event that is not a message to ingest.

    `kind` is one of "reaction", "read", "postback", "referral", "optin", "message_edit"
    or "unknown". `mid` is the message the event refers to, when Meta names one.
    """

    kind: str
    sender_id: str | None
    recipient_id: str | None
    timestamp_ms: int | None
    mid: str | None
    raw: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ParsedDelivery:
    """Everything one delivery held, in delivery order, plus what was wrong with it."""

    messages: tuple[InboundMessage, ...] = ()
    other_events: tuple[OtherEvent, ...] = ()
    warnings: tuple[str, ...] = field(default=())
