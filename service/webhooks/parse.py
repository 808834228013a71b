"""Read one decoded Instagram webhook delivery from Meta into events, with no I/O.

Meta's shape (Meta docs "Webhooks for Instagram Messaging" and "Instagram Platform Webhook
Notification Examples"); `standby` holds the same items while another app owns the thread::

    {"object": "instagram",
     "entry": [{"id": "<our IG account id>", "time": <ms>,
                "messaging" | "standby": [{"sender": {"id": ...}, "recipient": {"id": ...},
                    "timestamp": <ms>, "message" | "message_edit" | "reaction" | "read"
                    | "postback" | "referral" | "optin": {...}}]}]}

An unsend is a `message` with `"is_deleted": true` and the mid of the message it removes;
an edit is ``"message_edit": {"mid", "text", "num_edit"}``, the count of edits so far.

A `postback` (an ice breaker or a button tap: ``{"mid", "title", "payload"}``) is a
message from the user, read as one with `source` "postback", its title as the text; one
without a mid cannot be stored once, and stays an other event.

The App Dashboard's test button sends an item as ``changes: [{"field": "messages", "value":
<item>}]``, with a timestamp in seconds written as a string.

`parse_delivery` never raises for any JSON value: whatever is malformed becomes a warning and
the rest is still read, because one bad item must not cost the good ones (and Meta disables a
webhook that keeps failing). Warnings name paths and ids, never message text. Meta sends at
most 1000 updates per delivery; a larger one is read in full and warned about, since the body
size limit already bounds the work and dropping messages would lose them.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from service.messages.inbound import Source
from service.messages.timestamps import is_milliseconds
from service.webhooks.events import InboundEdit, InboundMessage, OtherEvent, ParsedDelivery

META_BATCH_LIMIT = 1000
MAX_WARNINGS = 100
_MAX_TIMESTAMP_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: beyond it no database keeps it
# The item key that names each non-message event kind, in the order they are tried.
_OTHER_KINDS = ("reaction", "read", "postback", "referral", "optin")


class _Collector:
    """What one delivery yields so far; duplicates and the warning cap are handled here."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []
        self.edits: list[InboundEdit] = []
        self.other_events: list[OtherEvent] = []
        self.warnings: list[str] = []
        self.suppressed = 0
        # An unsend may arrive in the same batch as the message it removes, so a deletion
        # is not a duplicate of the message.
        self.seen: set[tuple[str, bool]] = set()
        self.items = 0

    def warn(self, warning: str) -> None:
        # A hostile or broken delivery could make one warning per item; keep the log line small.
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(warning)
        else:
            self.suppressed += 1

    def result(self) -> ParsedDelivery:
        warnings = list(self.warnings)
        if self.suppressed:
            warnings.append(f"{self.suppressed} more warnings suppressed")
        return ParsedDelivery(
            messages=tuple(self.messages),
            other_events=tuple(self.other_events),
            warnings=tuple(warnings),
            edits=tuple(self.edits),
        )


def parse_delivery(payload: object, *, received_ms: int | None = None) -> ParsedDelivery:
    """Read a decoded webhook body into messages to ingest, other events and warnings.

    An item's time is its `timestamp`, else its entry's `time`, else `received_ms` (when we
    received the delivery), so that a message Meta sent without a time is still kept.
    """
    out = _Collector()
    if not isinstance(payload, dict):
        out.warn(f"delivery is {_describe(payload)}, not an object: ignored")
        return out.result()
    if payload.get("object") != "instagram":
        out.warn(f"object is {_describe(payload.get('object'))}, not 'instagram': ignored")
        return out.result()
    entries = payload.get("entry")
    if not isinstance(entries, list):
        out.warn(f"entry is {_describe(entries)}, not a list: nothing to read")
        return out.result()
    for index, entry in enumerate(entries):
        _read_entry(entry, f"entry[{index}]", received_ms, out)
    if out.items > META_BATCH_LIMIT:
        out.warn(
            f"{out.items} items exceed Meta's batch limit of {META_BATCH_LIMIT}; all were read"
        )
    return out.result()


class _Entry(NamedTuple):
    account_id: str | None  # our account: a message from it is an echo
    time_ms: int | None  # when Meta sent the entry: the fallback for an item's timestamp
    source: Source = "messaging"  # the list the item came in


class _Header(NamedTuple):
    sender: str | None
    recipient: str | None
    timestamp_ms: int | None


def _read_entry(entry: object, path: str, received_ms: int | None, out: _Collector) -> None:
    if not isinstance(entry, dict):
        out.warn(f"{path} is {_describe(entry)}, not an object: skipped")
        return
    time_ms = _timestamp_ms(entry.get("time"))
    if time_ms is None and received_ms is not None:
        out.warn(
            f"{path}.time is missing or invalid: items without a timestamp take the "
            "delivery's received time"
        )
        time_ms = received_ms
    context = _Entry(_ig_id(entry.get("id")), time_ms)
    if context.account_id is None:
        out.warn(f"{path}.id is missing or invalid: echoes are recognised by is_echo only")
    lists = [key for key in ("messaging", "standby", "changes") if entry.get(key) is not None]
    if not lists:
        out.warn(f"{path} has no messaging, standby or changes")
    for key in lists:
        items = entry[key]
        if not isinstance(items, list):
            out.warn(f"{path}.{key} is {_describe(items)}, not a list: skipped")
            continue
        for index, item in enumerate(items):
            where = f"{path}.{key}[{index}]"
            if key == "changes":
                item, where = _change_value(item, where)
            source: Source = "standby" if key == "standby" else "messaging"
            _read_item(item, where, context._replace(source=source), out)


def _change_value(change: object, path: str) -> tuple[object, str]:
    """The dashboard's test shape: a change's `value` is a messaging item."""
    if not isinstance(change, dict):
        return change, path
    field = change.get("field")
    note = "" if field == "messages" else f" (field {_describe(field)})"
    return change.get("value"), f"{path}.value{note}"


def _read_item(item: object, path: str, entry: _Entry, out: _Collector) -> None:
    out.items += 1
    if not isinstance(item, dict):
        out.warn(f"{path} is {_describe(item)}, not an object: skipped")
        return
    timestamp = _timestamp_ms(item.get("timestamp"))
    header = _Header(
        _nested_id(item, "sender"),
        _nested_id(item, "recipient"),
        entry.time_ms if timestamp is None else timestamp,
    )
    if "message" in item:
        _read_message(item["message"], path, header, entry, out)
        return
    if "message_edit" in item:
        _read_edit(item["message_edit"], path, header, out)
        return
    if "postback" in item and _read_postback(item["postback"], path, header, entry, out):
        return
    for kind in _OTHER_KINDS:
        if kind in item:
            detail = item[kind]
            mid = _ig_id(detail.get("mid")) if isinstance(detail, dict) else None
            out.other_events.append(OtherEvent(kind, *header, mid, item))
            return
    keys = ", ".join(sorted(str(key)[:40] for key in item)[:10])
    out.warn(f"{path}: unrecognised event (keys: {keys})")
    out.other_events.append(OtherEvent("unknown", *header, None, item))


def _read_message(
    message: object, path: str, header: _Header, entry: _Entry, out: _Collector
) -> None:
    if not isinstance(message, dict):
        out.warn(f"{path}.message is {_describe(message)}, not an object: skipped")
        return
    mid = _ig_id(message.get("mid"))
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


def _read_edit(edit: object, path: str, header: _Header, out: _Collector) -> None:
    """An edit is kept even without a sender: Meta is reported to send messages to an app
    that is not Live as edits without one, and the service counts those."""
    if not isinstance(edit, dict):
        out.warn(f"{path}.message_edit is {_describe(edit)}, not an object: skipped")
        return
    mid = _ig_id(edit.get("mid"))
    num_edit = _count(edit.get("num_edit"))
    if mid is None or num_edit is None or header.timestamp_ms is None:
        required = {"mid": mid, "num_edit": num_edit, "timestamp": header.timestamp_ms}
        missing = ", ".join(name for name, value in required.items() if value is None)
        out.warn(f"{path}: edit skipped, no valid {missing}")
        return
    text = edit.get("text")
    if text is not None and not isinstance(text, str):
        out.warn(f"{path}.message_edit.text is {_describe(text)}, not str: dropped")
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


def _count(value: object) -> int | None:
    """A non-negative count; Meta documents an integer, and a digit string is the same."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 6:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 1_000_000:
        return value
    return None


def _read_postback(
    postback: object, path: str, header: _Header, entry: _Entry, out: _Collector
) -> bool:
    """Read a postback as a message; False (it stays an other event) when it cannot be one."""
    mid = _ig_id(postback.get("mid")) if isinstance(postback, dict) else None
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
            out.warn(f"{path}.postback.{key} is {_describe(value)}, not str: dropped")
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


def _attachments(value: object, path: str, out: _Collector) -> list[dict[str, Any]] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        out.warn(f"{path}.message.attachments is {_describe(value)}, not a list: dropped")
        return None
    kept = [attachment for attachment in value if isinstance(attachment, dict)]
    if len(kept) < len(value):
        out.warn(f"{path}.message.attachments: {len(value) - len(kept)} non-object entries dropped")
    return kept or None


def _typed(message: dict[str, Any], key: str, kind: type, path: str, out: _Collector) -> Any:
    value = message.get(key)
    if value is None or isinstance(value, kind):
        return value
    out.warn(f"{path}.message.{key} is {_describe(value)}, not {kind.__name__}: dropped")
    return None


def _nested_id(item: dict[str, Any], key: str) -> str | None:
    holder = item.get(key)
    return _ig_id(holder.get("id")) if isinstance(holder, dict) else None


def _ig_id(value: object) -> str | None:
    """An id as a non-empty string; Meta sends strings, but a number is the same id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        # The bound keeps str() inside Python's integer-to-text limit.
        return str(value) if 0 < value < 10**64 else None
    # Postgres text cannot hold NUL, so such an id could never be stored.
    if isinstance(value, str) and value.strip() and "\x00" not in value:
        return value
    return None


def _timestamp_ms(value: object) -> int | None:
    """Milliseconds since the epoch from a number or a string of digits; seconds are scaled."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        # isascii: int() also reads other scripts' digits, and the length bound keeps it cheap.
        if not (value.isascii() and value.isdigit() and len(value) <= 20):
            return None
        value = int(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if not isinstance(value, (int, float)) or value <= 0:
        return None
    milliseconds = int(value if is_milliseconds(value) else value * 1000)
    return milliseconds if 0 < milliseconds <= _MAX_TIMESTAMP_MS else None


def _describe(value: object) -> str:
    """A short, safe description of an unexpected value for a warning."""
    if isinstance(value, str):
        return repr(value[:40])
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    names = {dict: "an object", list: "a list", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)
