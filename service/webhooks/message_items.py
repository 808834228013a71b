"""Reading a delivery's message, edit and postback items into the events to ingest.

One set of rules for both paths: every event read here is checked against the ingest
endpoint's own request type (`InboundMessage` is an `IngestEventRequest`, `InboundEdit` an
`IngestEditRequest`, both built from `service.messages.field_rules`), its fields as Meta sent
them. So what the parser accepts the endpoint takes, whole: no field is dropped on the way.
An event that breaks a rule is refused, and the refusal says where and why
(`ParsedDelivery.refused`, recorded on the delivery's row).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from service.webhooks.collector import Collector, Entry, Header
from service.webhooks.events import InboundEdit, InboundMessage
from service.webhooks.field_values import count, describe, ig_id

_Event = TypeVar("_Event", InboundMessage, InboundEdit)
# A message's content: Meta's key, and the ingest request's field it goes to as received.
_CONTENT = (
    ("text", "message_text"),
    ("attachments", "attachments"),
    ("reply_to", "reply_to"),
    ("quick_reply", "quick_reply"),
)


def read_message(message: object, path: str, header: Header, entry: Entry, out: Collector) -> None:
    if not isinstance(message, dict):
        out.warn(f"{path}.message is {describe(message)}, not an object: skipped")
        return
    mid = ig_id(message.get("mid"))
    sender, recipient, timestamp = header
    if mid is None or sender is None or recipient is None or timestamp is None:
        required = {
            "mid": mid,
            "sender.id": sender,
            "recipient.id": recipient,
            "timestamp": timestamp,
        }
        missing = ", ".join(name for name, value in required.items() if value is None)
        out.refuse(f"{path}: message refused, no valid {missing}")
        return
    is_deleted = message.get("is_deleted") is True
    if (mid, is_deleted) in out.seen:
        out.warn(f"{path}: duplicate of message {mid[:80]} in this delivery: skipped")
        return
    fields = {
        **_parties(mid, header),
        # Our own sends come back on the same webhook; answering them would loop.
        "is_echo": message.get("is_echo") is True or sender == entry.account_id,
        "is_deleted": is_deleted,
        "is_unsupported": message.get("is_unsupported") is True,
        "source": entry.source,
    }
    # An unsend's content, if Meta sent any, is ignored by the endpoint: it cannot refuse one.
    if not is_deleted:
        fields |= {name: message[key] for key, name in _CONTENT if message.get(key) is not None}
    _admit(InboundMessage, fields, f"{path}: message {mid[:80]}", out)


def read_edit(item: dict[str, Any], path: str, header: Header, out: Collector) -> None:
    """An edit is kept even without a sender: Meta is reported to send messages to an app
    that is not Live as edits without one, and the service counts those."""
    edit = item["message_edit"]
    if not isinstance(edit, dict):
        out.warn(f"{path}.message_edit is {describe(edit)}, not an object: skipped")
        return
    mid = ig_id(edit.get("mid"))
    num_edit = count(edit.get("num_edit"))
    if mid is None or num_edit is None or header.timestamp_ms is None:
        required = {"mid": mid, "num_edit": num_edit, "timestamp": header.timestamp_ms}
        missing = ", ".join(name for name, value in required.items() if value is None)
        out.refuse(f"{path}: edit refused, no valid {missing}")
        return
    if header.sender is None and _named(item, "sender"):
        out.refuse(f"{path}: edit of {mid[:80]} refused, no valid sender.id")
        return
    if header.sender is None:
        out.warn(f"{path}: edit of {mid[:80]} names no sender")
    fields = {
        "mid": mid,
        "timestamp": header.timestamp_ms,
        "num_edit": num_edit,
        "text": edit.get("text"),
        "sender_ig_id": header.sender,
        "recipient_ig_id": header.recipient,
    }
    _admit(InboundEdit, fields, f"{path}: edit of {mid[:80]}", out)


def read_postback(
    postback: object, path: str, header: Header, entry: Entry, out: Collector
) -> bool:
    """Read a postback as a message; False (it stays an other event) when it cannot be one."""
    mid = ig_id(postback.get("mid")) if isinstance(postback, dict) else None
    sender, recipient, timestamp = header
    if (
        not isinstance(postback, dict)
        or mid is None
        or sender is None
        or recipient is None
        or timestamp is None
    ):
        out.warn(
            f"{path}: postback without a valid mid, sender, recipient or timestamp: not stored"
        )
        return False
    if (mid, False) in out.seen:
        out.warn(f"{path}: duplicate of message {mid[:80]} in this delivery: skipped")
        return True
    fields = {
        **_parties(mid, header),
        "message_text": postback.get("title"),
        "postback_payload": postback.get("payload"),
        "is_echo": sender == entry.account_id,
        "source": "standby" if entry.source == "standby" else "postback",
    }
    _admit(InboundMessage, fields, f"{path}: message {mid[:80]}", out)
    return True


def _parties(mid: str, header: Header) -> dict[str, Any]:
    return {
        "mid": mid,
        "sender_ig_id": header.sender,
        "recipient_ig_id": header.recipient,
        "timestamp": header.timestamp_ms,
    }


def _admit(kind: type[_Event], fields: dict[str, Any], where: str, out: Collector) -> None:
    """Keep the event if the ingest endpoint's rules take it; else refuse it, saying why
    (msgspec names the field and the rule, never the value)."""
    try:
        event = msgspec.convert(fields, kind)
    except msgspec.ValidationError as exc:
        out.refuse(f"{where} refused, {exc}")
        return
    if isinstance(event, InboundEdit):
        out.edits.append(event)
    else:
        out.seen.add((event.mid, event.is_deleted))
        out.messages.append(event)


def _named(item: dict[str, Any], key: str) -> bool:
    """Whether the item names a `key` id at all, valid or not."""
    holder = item.get(key)
    return isinstance(holder, dict) and holder.get("id") is not None
