"""A message as the Conversations API gives it, made into the inbound event a webhook's
would be (`service.store.inbound_event.InboundEvent`), so that it takes the same path.

Its time is its `created_time`, so the messaging window opens then, not when it was
found; a message from the account itself is an echo, stored and never answered.
"""

from __future__ import annotations

from typing import Any

from service.messages.timestamps import parse_event_timestamp
from service.store.inbound_event import InboundEvent

SOURCE = "reconciled"
# The Graph API's attachment fields, and the webhook's `type` each matches.
_ATTACHMENT_KINDS = (("image_data", "image"), ("video_data", "video"), ("file_url", "file"))


def inbound_event(document: dict[str, Any], account_id: str) -> InboundEvent:
    """The event of a message document; ValueError when it lacks what an event needs."""
    sender = _id(document.get("from"))
    recipients = (document.get("to") or {}).get("data") or []
    recipient = _id(recipients[0]) if recipients else None
    mid = document.get("id")
    if not mid or not sender:
        raise ValueError(f"the message {mid!r} has no id or no sender")
    return InboundEvent(
        mid=str(mid),
        sender_ig_id=sender,
        recipient_ig_id=recipient or account_id,
        timestamp=parse_event_timestamp(document.get("created_time") or ""),
        message_text=document.get("message") or None,
        attachments=_attachments(document.get("attachments")),
        is_echo=sender == account_id,
        source=SOURCE,
    )


def _id(party: Any) -> str | None:
    value = party.get("id") if isinstance(party, dict) else None
    return str(value) if value else None


def _attachments(edge: Any) -> list[dict[str, Any]] | None:
    """The webhook's shape (`[{type, payload: {url}}]`) of the Graph API's attachments."""
    items = edge.get("data") if isinstance(edge, dict) else None
    if not items:
        return None
    found = []
    for item in items:
        for field, kind in _ATTACHMENT_KINDS:
            value = item.get(field) if isinstance(item, dict) else None
            if value:
                url = value.get("url") if isinstance(value, dict) else value
                found.append({"type": kind, "payload": {"url": url}})
                break
    return found or None
