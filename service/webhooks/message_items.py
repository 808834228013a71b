"""Reading a delivery's message, edit and postback items into the events to ingest."""

from __future__ import annotations

from typing import Any

from service.webhooks.collector import Collector, Entry, Header
from service.webhooks.events import InboundEdit, InboundMessage
from service.webhooks.field_values import count, describe, ig_id


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
        out.warn(f"{path}: message skipped, no valid {missing}")
        return
    is_deleted = message.get("is_deleted") is True
    if (mid, is_deleted) in out.seen:
        out.warn(f"{path}: duplicate of message {mid[:80]} in this delivery: skipped")
        return
    out.seen.add((mid, is_deleted))
    out.messages.append(
        InboundMessage(
            mid=mid,
            sender_ig_id=sender,
            recipient_ig_id=recipient,
            timestamp=timestamp,
            message_text=_typed(message, "text", str, path, out),
            attachments=_attachments(message.get("attachments"), path, out),
            reply_to=_typed(message, "reply_to", dict, path, out),
            quick_reply=_typed(message, "quick_reply", dict, path, out),
            # Our own sends come back on the same webhook; answering them would loop.
            is_echo=message.get("is_echo") is True or sender == entry.account_id,
            is_deleted=is_deleted,
            is_unsupported=message.get("is_unsupported") is True,
            source=entry.source,
        )
    )


def read_edit(edit: object, path: str, header: Header, out: Collector) -> None:
    """An edit is kept even without a sender: Meta is reported to send messages to an app
    that is not Live as edits without one, and the service counts those."""
    if not isinstance(edit, dict):
        out.warn(f"{path}.message_edit is {describe(edit)}, not an object: skipped")
        return
    mid = ig_id(edit.get("mid"))
    num_edit = count(edit.get("num_edit"))
    if mid is None or num_edit is None or header.timestamp_ms is None:
        required = {"mid": mid, "num_edit": num_edit, "timestamp": header.timestamp_ms}
        missing = ", ".join(name for name, value in required.items() if value is None)
        out.warn(f"{path}: edit skipped, no valid {missing}")
        return
    text = edit.get("text")
    if text is not None and not isinstance(text, str):
        out.warn(f"{path}.message_edit.text is {describe(text)}, not str: dropped")
        text = None
    if header.sender is None:
        out.warn(f"{path}: edit of {mid[:80]} names no sender")
    out.edits.append(
        InboundEdit(
            mid=mid,
            timestamp=header.timestamp_ms,
            num_edit=num_edit,
            text=text,
            sender_ig_id=header.sender,
            recipient_ig_id=header.recipient,
        )
    )


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
    out.seen.add((mid, False))
    text = {}
    for key in ("title", "payload"):
        value = postback.get(key)
        if value is not None and not isinstance(value, str):
            out.warn(f"{path}.postback.{key} is {describe(value)}, not str: dropped")
            value = None
        text[key] = value
    out.messages.append(
        InboundMessage(
            mid=mid,
            sender_ig_id=sender,
            recipient_ig_id=recipient,
            timestamp=timestamp,
            message_text=text["title"],
            postback_payload=text["payload"],
            is_echo=sender == entry.account_id,
            source="standby" if entry.source == "standby" else "postback",
        )
    )
    return True


def _attachments(value: object, path: str, out: Collector) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        out.warn(f"{path}.message.attachments is {describe(value)}, not a list: dropped")
        return None
    kept = [attachment for attachment in value if isinstance(attachment, dict)]
    if len(kept) < len(value):
        out.warn(f"{path}.message.attachments: {len(value) - len(kept)} non-object entries dropped")
    return kept or None


def _typed(message: dict[str, Any], key: str, kind: type, path: str, out: Collector) -> Any:
    value = message.get(key)
    if value is None or isinstance(value, kind):
        return value
    out.warn(f"{path}.message.{key} is {describe(value)}, not {kind.__name__}: dropped")
    return None
