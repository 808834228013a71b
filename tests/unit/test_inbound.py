"""The inbound message's two shapes: the ingest request, as the endpoint decodes it and the
webhook forwarder writes it, and the event the service stores."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from service.messages.inbound import IngestEventRequest
from service.store.inbound_event import InboundEvent
from service.webhooks.events import InboundMessage

BODY = {
    "mid": "m-1",
    "sender_ig_id": "user-1",
    "recipient_ig_id": "page-1",
    "timestamp": 1_734_123_456_789,
    "message_text": "Check this reel out!",
    "attachments": [{"type": "ig_reel", "payload": {"reel_video_id": "1"}}],
    "reply_to": {"story": {"id": "17900000000000000"}},
    "quick_reply": {"payload": "QR"},
    "is_echo": True,
    "source": "standby",
}


def test_a_request_becomes_the_event_to_store_with_its_timestamp_read():
    request = msgspec.convert(BODY, IngestEventRequest)

    event = request.to_event()

    assert event == InboundEvent(
        **{**BODY, "timestamp": dt.datetime(2024, 12, 13, 20, 57, 36, 789_000, tzinfo=dt.UTC)}
    )
    assert event.attachments is request.attachments  # handed on, not copied


def test_a_request_with_only_the_required_fields_leaves_the_rest_at_their_defaults():
    event = IngestEventRequest(
        mid="m-1", sender_ig_id="user-1", recipient_ig_id="page-1", timestamp="1734123456"
    ).to_event()

    assert (event.message_text, event.attachments, event.reply_to, event.quick_reply) == (None,) * 4
    assert (event.is_echo, event.source) == (False, "messaging")


def test_an_unreadable_timestamp_is_a_value_error():
    request = IngestEventRequest(
        mid="m-1", sender_ig_id="user-1", recipient_ig_id="page-1", timestamp="yesterday"
    )

    with pytest.raises(ValueError, match="Unix seconds, milliseconds or ISO 8601"):
        request.to_event()


def test_what_the_webhook_forwards_decodes_as_the_same_request():
    message = InboundMessage(**BODY)

    body = msgspec.json.encode(message.to_ingest_body())

    assert msgspec.json.decode(body, type=IngestEventRequest) == msgspec.convert(
        BODY, IngestEventRequest
    )


def test_the_webhook_keeps_its_own_flags_out_of_the_ingest_body():
    message = InboundMessage(**BODY, is_unsupported=True)

    assert message.to_ingest_body() == BODY


def test_an_unsend_is_forwarded_as_an_ingest_request_with_is_deleted():
    message = InboundMessage(**BODY, is_deleted=True)

    assert message.to_ingest_body() == {**BODY, "is_deleted": True}
