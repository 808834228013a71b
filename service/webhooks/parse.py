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

`parse_delivery` never raises for any JSON value: a message or edit the ingest endpoint would
refuse is refused here, by the same rules (`service.webhooks.message_items`), whatever else is
malformed becomes a warning, and the rest is still read, because one bad item must not cost
the good ones (and Meta disables a webhook that keeps failing). Refusals and warnings name
paths, ids and rules, never message text. Meta sends at
most 1000 updates per delivery; a larger one is read in full and warned about, since the body
size limit already bounds the work and dropping messages would lose them.
"""

from __future__ import annotations

from service.messages.inbound import Source
from service.webhooks.collector import Collector, Entry, Header
from service.webhooks.events import OtherEvent, ParsedDelivery
from service.webhooks.field_values import describe, ig_id, nested_id, timestamp_ms
from service.webhooks.message_items import read_edit, read_message, read_postback

META_BATCH_LIMIT = 1000
# The item key that names each non-message event kind, in the order they are tried.
_OTHER_KINDS = ("reaction", "read", "postback", "referral", "optin")


def parse_delivery(payload: object, *, received_ms: int | None = None) -> ParsedDelivery:
    """Read a decoded webhook body into messages to ingest, other events and warnings.

    An item's time is its `timestamp`, else its entry's `time`, else `received_ms` (when we
    received the delivery), so that a message Meta sent without a time is still kept.
    """
    out = Collector()
    if not isinstance(payload, dict):
        out.warn(f"delivery is {describe(payload)}, not an object: ignored")
        return out.result()
    if payload.get("object") != "instagram":
        out.warn(f"object is {describe(payload.get('object'))}, not 'instagram': ignored")
        return out.result()
    entries = payload.get("entry")
    if not isinstance(entries, list):
        out.warn(f"entry is {describe(entries)}, not a list: nothing to read")
        return out.result()
    for index, entry in enumerate(entries):
        _read_entry(entry, f"entry[{index}]", received_ms, out)
    if out.items > META_BATCH_LIMIT:
        out.warn(
            f"{out.items} items exceed Meta's batch limit of {META_BATCH_LIMIT}; all were read"
        )
    return out.result()


def _read_entry(entry: object, path: str, received_ms: int | None, out: Collector) -> None:
    if not isinstance(entry, dict):
        out.warn(f"{path} is {describe(entry)}, not an object: skipped")
        return
    time_ms = timestamp_ms(entry.get("time"))
    if time_ms is None and received_ms is not None:
        out.warn(
            f"{path}.time is missing or invalid: items without a timestamp take the "
            "delivery's received time"
        )
        time_ms = received_ms
    context = Entry(ig_id(entry.get("id")), time_ms)
    if context.account_id is None:
        out.warn(f"{path}.id is missing or invalid: echoes are recognised by is_echo only")
    lists = [key for key in ("messaging", "standby", "changes") if entry.get(key) is not None]
    if not lists:
        out.warn(f"{path} has no messaging, standby or changes")
    for key in lists:
        items = entry[key]
        if not isinstance(items, list):
            out.warn(f"{path}.{key} is {describe(items)}, not a list: skipped")
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
    note = "" if field == "messages" else f" (field {describe(field)})"
    return change.get("value"), f"{path}.value{note}"


def _read_item(item: object, path: str, entry: Entry, out: Collector) -> None:
    out.items += 1
    if not isinstance(item, dict):
        out.warn(f"{path} is {describe(item)}, not an object: skipped")
        return
    timestamp = timestamp_ms(item.get("timestamp"))
    header = Header(
        nested_id(item, "sender"),
        nested_id(item, "recipient"),
        entry.time_ms if timestamp is None else timestamp,
    )
    if "message" in item:
        read_message(item["message"], path, header, entry, out)
        return
    if "message_edit" in item:
        read_edit(item, path, header, out)
        return
    if "postback" in item and read_postback(item["postback"], path, header, entry, out):
        return
    for kind in _OTHER_KINDS:
        if kind in item:
            detail = item[kind]
            mid = ig_id(detail.get("mid")) if isinstance(detail, dict) else None
            out.other_events.append(OtherEvent(kind, *header, mid, item))
            return
    keys = ", ".join(sorted(str(key)[:40] for key in item)[:10])
    out.warn(f"{path}: unrecognised event (keys: {keys})")
    out.other_events.append(OtherEvent("unknown", *header, None, item))
