"""The parser of Meta's Instagram webhook deliveries, against Meta's documented shapes.

Payload shapes follow Meta's "Webhooks for Instagram Messaging" and "Instagram Platform Webhook
Notification Examples" pages, the "Instagram Post Shares: New Attachment Type" notice, and the
App Dashboard test payload (`changes[]`) as recorded in chatwoot's Instagram events job.
"""

from __future__ import annotations

import copy
import string
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.messages.edits import IngestEditRequest
from service.messages.inbound import IngestEventRequest
from service.webhooks.collector import MAX_WARNINGS
from service.webhooks.events import InboundEdit, InboundMessage, OtherEvent, ParsedDelivery
from service.webhooks.parse import META_BATCH_LIMIT, parse_delivery
from tests.support.meta_payloads import (
    ACCOUNT,
    CDN,
    ENTRY_MS,
    SENT_MS,
    USER,
    attachment,
    dashboard_test_delivery,
    delivery,
    entry,
    item,
    message_item,
)

GOOD_BODY = {"mid": "mid.1", "sender_ig_id": USER, "recipient_ig_id": ACCOUNT, "timestamp": SENT_MS}


def parse_one_message(*items: dict) -> InboundMessage:
    parsed = parse_delivery(delivery(entry(*items)))
    assert parsed.warnings == ()
    (only,) = parsed.messages
    return only


# --- messages ------------------------------------------------------------------------------


def test_a_text_message_becomes_one_inbound_message_with_its_ingest_body() -> None:
    parsed = parse_delivery(delivery(entry(message_item("mid.abc", text="Check this reel out!"))))

    assert parsed == ParsedDelivery(
        messages=(
            InboundMessage(
                mid="mid.abc",
                sender_ig_id=USER,
                recipient_ig_id=ACCOUNT,
                timestamp=SENT_MS,
                message_text="Check this reel out!",
            ),
        )
    )
    assert parsed.messages[0].to_ingest_body() == {
        "mid": "mid.abc",
        "sender_ig_id": USER,
        "recipient_ig_id": ACCOUNT,
        "timestamp": SENT_MS,
        "message_text": "Check this reel out!",
    }


ATTACHMENTS = {
    "image": attachment("image", url=CDN),
    "video": attachment("video", url=CDN),
    "audio": attachment("audio", url=CDN),
    "file": attachment("file", url=CDN),
    "share": attachment("share", url=CDN),
    "story_mention": attachment("story_mention", url=CDN),
    "ig_reel": attachment("ig_reel", reel_video_id="18087782618022081", title="a reel", url=CDN),
    "reel": attachment("reel", reel_video_id="18087782618022081", title="a reel", url=CDN),
    "ig_post": attachment("ig_post", ig_post_media_id="18139494541428835", title="a post", url=CDN),
    # The parser never looks inside a payload, so these carry what a test needs, no more.
    "ephemeral": attachment("ephemeral"),
    "like_heart": attachment("like_heart"),
    "unknown": attachment("a_type_meta_adds_next_year", anything={"nested": [1, 2]}),
}


@pytest.mark.parametrize("kind", list(ATTACHMENTS))
def test_every_attachment_type_is_kept_exactly_as_received(kind: str) -> None:
    sent = ATTACHMENTS[kind]

    received = parse_one_message(message_item(attachments=[sent]))

    assert received.attachments == [sent]
    assert received.message_text is None
    assert received.to_ingest_body()["attachments"] == [sent]
    assert "message_text" not in received.to_ingest_body()


def test_a_post_share_keeps_both_the_share_and_the_ig_post_attachment() -> None:
    # Since November 2025 Meta sends a shared post as two attachments.
    both = [
        attachment("share", ig_post_media_id="18139494541428835", title="a post", url=CDN),
        attachment("ig_post", ig_post_media_id="18139494541428835", title="a post", url=CDN),
    ]

    assert parse_one_message(message_item(attachments=both)).attachments == both


def test_a_story_reply_and_a_quick_reply_are_kept() -> None:
    reply_to = {"story": {"url": CDN, "id": "17900000000000000"}}
    quick_reply = {"payload": "QR-PAYLOAD"}

    received = parse_one_message(
        message_item(text="nice", reply_to=reply_to, quick_reply=quick_reply)
    )

    assert (received.reply_to, received.quick_reply) == (reply_to, quick_reply)
    assert received.to_ingest_body()["reply_to"] == reply_to
    assert received.to_ingest_body()["quick_reply"] == quick_reply


def test_a_batch_of_entries_and_events_is_read_in_delivery_order() -> None:
    other_account = "17841400000000002"
    payload = delivery(
        entry(
            message_item("mid.1", text="one"),
            item(
                reaction={"mid": "mid.0", "action": "react", "reaction": "love", "emoji": "\u2764"}
            ),
            message_item("mid.2", attachments=[ATTACHMENTS["ig_reel"]]),
        ),
        entry(
            message_item("mid.3", text="three", recipient=other_account),
            item(read={"mid": "mid.out.1"}, recipient=other_account),
            account=other_account,
        ),
    )

    parsed = parse_delivery(payload)

    assert [m.mid for m in parsed.messages] == ["mid.1", "mid.2", "mid.3"]
    assert [(e.kind, e.mid) for e in parsed.other_events] == [
        ("reaction", "mid.0"),
        ("read", "mid.out.1"),
    ]
    assert parsed.messages[2].recipient_ig_id == other_account
    assert parsed.warnings == ()


def test_an_echo_is_flagged_by_is_echo() -> None:
    echo = message_item("mid.echo", text="Hi!", sender=ACCOUNT, recipient=USER, is_echo=True)

    received = parse_one_message(echo)

    assert received.is_echo is True
    assert received.to_ingest_body()["is_echo"] is True


def test_an_echo_is_flagged_when_the_sender_is_our_own_account_without_the_flag() -> None:
    assert parse_one_message(
        message_item("mid.echo", text="Hi!", sender=ACCOUNT, recipient=USER)
    ).is_echo


def test_a_customer_message_is_not_an_echo_even_with_a_non_boolean_flag() -> None:
    assert not parse_one_message(message_item(text="hello", is_echo="false")).is_echo


def test_an_unsent_message_is_kept_and_flagged_deleted() -> None:
    received = parse_one_message(message_item("mid.gone", is_deleted=True))

    assert received.is_deleted is True
    assert (received.message_text, received.attachments) == (None, None)


def test_an_unsupported_message_is_kept_and_flagged() -> None:
    assert parse_one_message(message_item("mid.gif", is_unsupported=True)).is_unsupported is True


def test_ids_sent_as_numbers_are_read_as_strings() -> None:
    received = parse_one_message(
        message_item(text="hi", sender=1254001234567890, recipient=17841400000000001)
    )

    assert (received.sender_ig_id, received.recipient_ig_id) == (USER, ACCOUNT)


def test_the_same_mid_twice_in_one_delivery_is_kept_once() -> None:
    parsed = parse_delivery(
        delivery(
            entry(message_item("mid.dup", text="a"), standby=[message_item("mid.dup", text="a")])
        )
    )

    assert [m.mid for m in parsed.messages] == ["mid.dup"]
    assert any("duplicate" in w for w in parsed.warnings)


def test_an_unsend_in_the_same_delivery_as_its_message_is_not_a_duplicate() -> None:
    parsed = parse_delivery(
        delivery(entry(message_item("mid.x", text="oops"), message_item("mid.x", is_deleted=True)))
    )

    assert [(m.mid, m.is_deleted) for m in parsed.messages] == [("mid.x", False), ("mid.x", True)]


# --- edits ---------------------------------------------------------------------------------


def test_an_edit_becomes_an_inbound_edit_with_its_ingest_body() -> None:
    parsed = parse_delivery(
        delivery(entry(item(message_edit={"mid": "mid.e", "text": "edited", "num_edit": 1})))
    )

    assert parsed.warnings == () and parsed.other_events == () and parsed.messages == ()
    assert parsed.edits == (
        InboundEdit(
            mid="mid.e",
            timestamp=SENT_MS,
            num_edit=1,
            text="edited",
            sender_ig_id=USER,
            recipient_ig_id=ACCOUNT,
        ),
    )
    assert parsed.edits[0].to_ingest_body() == {
        "mid": "mid.e",
        "timestamp": SENT_MS,
        "num_edit": 1,
        "text": "edited",
        "sender_ig_id": USER,
        "recipient_ig_id": ACCOUNT,
    }


def test_an_edit_without_a_sender_is_kept_and_warned_about() -> None:
    raw = {"recipient": {"id": ACCOUNT}, "timestamp": SENT_MS}
    raw["message_edit"] = {"mid": "mid.e", "text": "hello", "num_edit": 0}

    parsed = parse_delivery(delivery(entry(raw)))

    [edit] = parsed.edits
    assert edit.sender_ig_id is None and edit.num_edit == 0 and edit.text == "hello"
    assert edit.to_ingest_body() == {
        "mid": "mid.e",
        "timestamp": SENT_MS,
        "num_edit": 0,
        "text": "hello",
        "recipient_ig_id": ACCOUNT,
    }
    assert parsed.warnings == ("entry[0].messaging[0]: edit of mid.e names no sender",)


@pytest.mark.parametrize(
    "detail",
    [{"text": "x", "num_edit": 1}, {"mid": "mid.e", "text": "x"}, {"mid": "mid.e", "num_edit": -1}],
)
def test_an_edit_without_a_mid_or_a_count_is_refused_and_recorded(detail: dict) -> None:
    parsed = parse_delivery(delivery(entry(item(message_edit=detail))))

    assert parsed.edits == () and parsed.warnings == ()
    assert len(parsed.refused) == 1 and "edit refused, no valid" in parsed.refused[0]


# --- other events --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "detail", "mid"),
    [
        (
            "reaction",
            {"mid": "mid.r", "action": "react", "reaction": "love", "emoji": "\u2764\ufe0f"},
            "mid.r",
        ),
        ("reaction", {"mid": "mid.r", "action": "unreact"}, "mid.r"),
        ("read", {"mid": "mid.seen"}, "mid.seen"),
        # Without a mid, a postback cannot be stored once: it stays an event (see below).
        ("postback", {"title": "Get started", "payload": "ICEBREAKER-1"}, None),
        (
            "referral",
            {"ref": "campaign-1", "source": "IGME_SOURCE_LINK", "type": "OPEN_THREAD"},
            None,
        ),
        ("optin", {"type": "notification_messages", "payload": "x"}, None),
    ],
)
def test_non_message_events_are_other_events_of_their_kind(
    key: str, detail: dict, mid: str | None
) -> None:
    raw = item(**{key: detail})

    parsed = parse_delivery(delivery(entry(raw)))

    assert parsed.messages == ()
    assert parsed.other_events == (OtherEvent(key, USER, ACCOUNT, SENT_MS, mid, raw),)
    if key != "postback":
        assert parsed.warnings == ()


def test_a_postback_is_a_message_with_its_title_as_text_and_its_payload_kept() -> None:
    raw = item(postback={"mid": "mid.pb", "title": "Get started", "payload": "ICEBREAKER-1"})

    parsed = parse_delivery(delivery(entry(raw)))

    assert parsed.other_events == () and parsed.warnings == ()
    assert parsed.messages == (
        InboundMessage(
            mid="mid.pb",
            sender_ig_id=USER,
            recipient_ig_id=ACCOUNT,
            timestamp=SENT_MS,
            message_text="Get started",
            postback_payload="ICEBREAKER-1",
            source="postback",
        ),
    )
    assert parsed.messages[0].to_ingest_body()["postback_payload"] == "ICEBREAKER-1"


def test_a_postback_without_a_mid_stays_an_event_with_a_warning() -> None:
    parsed = parse_delivery(delivery(entry(item(postback={"title": "Hi", "payload": "P"}))))

    assert parsed.messages == () and [e.kind for e in parsed.other_events] == ["postback"]
    assert parsed.warnings == (
        "entry[0].messaging[0]: postback without a valid mid, sender, recipient or timestamp:"
        " not stored",
    )


def test_a_standby_postback_is_recorded_as_standby() -> None:
    raw = item(postback={"mid": "mid.pb", "title": "Hi", "payload": "P"})

    parsed = parse_delivery(delivery(entry(standby=[raw])))

    assert [(m.mid, m.source, m.postback_payload) for m in parsed.messages] == [
        ("mid.pb", "standby", "P")
    ]


def test_an_unknown_event_kind_is_kept_as_unknown_with_a_warning() -> None:
    raw = item(pass_thread_control={"new_owner_app_id": "123"})

    parsed = parse_delivery(delivery(entry(raw)))

    assert parsed.other_events == (OtherEvent("unknown", USER, ACCOUNT, SENT_MS, None, raw),)
    assert parsed.warnings == (
        "entry[0].messaging[0]: unrecognised event (keys: pass_thread_control, "
        "recipient, sender, timestamp)",
    )


# --- standby and the dashboard's test shape ------------------------------------------------


def test_standby_items_are_read_like_messaging_items() -> None:
    parsed = parse_delivery(
        delivery(
            entry(
                standby=[
                    message_item("mid.sb", text="while another app owns the thread"),
                    item(read={"mid": "mid.out"}),
                ]
            )
        )
    )

    assert [(m.mid, m.source) for m in parsed.messages] == [("mid.sb", "standby")]
    assert [e.kind for e in parsed.other_events] == ["read"]
    assert parsed.messages[0].to_ingest_body()["source"] == "standby"


def test_messaging_and_changes_items_come_from_the_messaging_source() -> None:
    parsed = parse_delivery(
        delivery(
            entry(
                message_item("mid.1"),
                changes=[{"field": "messages", "value": message_item("mid.2")}],
            )
        )
    )

    assert [(m.mid, m.source) for m in parsed.messages] == [
        ("mid.1", "messaging"),
        ("mid.2", "messaging"),
    ]


def test_without_any_time_a_message_takes_the_delivery_received_time() -> None:
    received_ms = 1_761_287_300_000
    payload = delivery(entry(message_item("mid.1", timestamp=None), time=None))

    assert parse_delivery(payload).messages == ()
    parsed = parse_delivery(payload, received_ms=received_ms)
    assert [(m.mid, m.timestamp) for m in parsed.messages] == [("mid.1", received_ms)]
    assert "received time" in parsed.warnings[0]


def test_the_dashboard_test_shape_in_changes_is_read_with_its_seconds_timestamp() -> None:
    parsed = parse_delivery(dashboard_test_delivery())

    assert parsed.messages == (
        InboundMessage(
            mid="random_mid",
            sender_ig_id="12334",
            recipient_ig_id="23245",
            timestamp=1_527_459_824_000,
            message_text="random_text",
        ),
    )
    assert parsed.warnings == ()


def test_a_change_for_a_non_messaging_field_is_an_unknown_event() -> None:
    comment = {
        "field": "comments",
        "value": {"id": "c1", "from": {"id": USER, "username": "u"}, "text": "hi"},
    }

    parsed = parse_delivery(delivery(entry(changes=[comment])))

    assert [e.kind for e in parsed.other_events] == ["unknown"]
    assert "field 'comments'" in parsed.warnings[0]


# --- timestamps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "expected_ms"),
    [
        (1_761_287_294_014, 1_761_287_294_014),  # milliseconds, as Meta sends them
        (1_761_287_294, 1_761_287_294_000),  # seconds
        ("1761287294014", 1_761_287_294_014),  # digits in a string
        ("1734123456", 1_734_123_456_000),  # seconds in a string, as curl examples send
        (1_761_287_294.5, 1_761_287_294_500),  # fractional seconds
    ],
)
def test_timestamps_are_milliseconds_whether_sent_in_seconds_or_milliseconds(
    sent: Any, expected_ms: int
) -> None:
    assert parse_one_message(message_item(text="t", timestamp=sent)).timestamp == expected_ms


@pytest.mark.parametrize(
    "bad", [None, "", "soon", "-5", "1e12", True, -1, 0, [], {}, float("nan"), "\u00b2"]
)
def test_a_missing_or_invalid_item_timestamp_falls_back_to_the_entry_time(bad: Any) -> None:
    received = parse_one_message(message_item(text="t", timestamp=bad))

    assert received.timestamp == ENTRY_MS


def test_a_message_with_no_usable_time_at_all_is_refused_and_recorded() -> None:
    parsed = parse_delivery(delivery(entry(message_item(text="t", timestamp="later"), time=None)))

    assert parsed.messages == ()
    assert parsed.refused == ("entry[0].messaging[0]: message refused, no valid timestamp",)


# --- what is not a delivery, and malformed parts of one -----------------------------------


@pytest.mark.parametrize("wrong", ["page", "whatsapp_business_account", None, "Instagram", 1])
def test_a_delivery_for_another_object_yields_nothing_and_a_warning(wrong: Any) -> None:
    parsed = parse_delivery(delivery(entry(message_item(text="hi")), object=wrong))

    assert (parsed.messages, parsed.other_events) == ((), ())
    assert len(parsed.warnings) == 1 and "not 'instagram'" in parsed.warnings[0]


@pytest.mark.parametrize(
    "payload", [None, 0, 1.5, "instagram", [], [delivery(entry(message_item()))], True]
)
def test_a_delivery_that_is_not_an_object_yields_nothing_and_a_warning(payload: Any) -> None:
    parsed = parse_delivery(payload)

    assert (parsed.messages, parsed.other_events) == ((), ())
    assert len(parsed.warnings) == 1


@pytest.mark.parametrize(
    ("payload", "warning"),
    [
        ({"object": "instagram"}, "entry is null, not a list: nothing to read"),
        ({"object": "instagram", "entry": {}}, "entry is an object, not a list: nothing to read"),
        (delivery("nope"), "entry[0] is 'nope', not an object: skipped"),
        (
            delivery({"id": ACCOUNT, "time": ENTRY_MS}),
            "entry[0] has no messaging, standby or changes",
        ),
        (
            delivery(entry(messaging={"sender": {}})),
            "entry[0].messaging is an object, not a list: skipped",
        ),
        (delivery(entry(7)), "entry[0].messaging[0] is a number, not an object: skipped"),
        (
            delivery(entry(item(message="hello"))),
            "entry[0].messaging[0].message is 'hello', not an object: skipped",
        ),
        (delivery(entry(changes=["x"])), "entry[0].changes[0] is 'x', not an object: skipped"),
        (
            delivery(entry(changes=[{"field": "messages"}])),
            "entry[0].changes[0].value is null, not an object: skipped",
        ),
    ],
)
def test_malformed_parts_are_skipped_with_a_warning_naming_where(
    payload: dict, warning: str
) -> None:
    parsed = parse_delivery(payload)

    assert parsed.messages == ()
    assert warning in parsed.warnings


@pytest.mark.parametrize(
    ("payload", "refusal"),
    [
        (
            delivery(entry(item(message={"text": "no mid"}))),
            "entry[0].messaging[0]: message refused, no valid mid",
        ),
        (
            delivery(entry(message_item(sender=""))),
            "entry[0].messaging[0]: message refused, no valid sender.id",
        ),
        (
            delivery(entry(message_item(sender=True))),
            "entry[0].messaging[0]: message refused, no valid sender.id",
        ),
        (
            delivery(entry(message_item(recipient=None))),
            "entry[0].messaging[0]: message refused, no valid recipient.id",
        ),
        (
            delivery(entry(item(sender=None, message={"mid": ""}))),
            "entry[0].messaging[0]: message refused, no valid mid, sender.id",
        ),
    ],
)
def test_a_message_without_a_valid_required_field_is_refused_naming_it(
    payload: dict, refusal: str
) -> None:
    parsed = parse_delivery(payload)

    assert parsed.messages == ()
    assert parsed.refused == (refusal,)


def test_a_malformed_item_does_not_cost_the_good_ones_beside_it() -> None:
    parsed = parse_delivery(
        delivery(entry(item(message=None), "junk", message_item("mid.ok", text="fine")))
    )

    assert [m.mid for m in parsed.messages] == ["mid.ok"]
    assert len(parsed.warnings) == 2


def test_an_entry_without_an_id_still_yields_its_messages_and_warns() -> None:
    parsed = parse_delivery(delivery(entry(message_item(text="hi"), account=None)))

    assert [m.mid for m in parsed.messages] == ["mid.1"]
    assert parsed.warnings == (
        "entry[0].id is missing or invalid: echoes are recognised by is_echo only",
    )


def test_warnings_never_repeat_message_text() -> None:
    secret = "my password is hunter2"
    payload = delivery(
        entry(item(message={"text": secret}), message_item(text=secret, timestamp=None), time=None)
    )

    assert not any("hunter2" in w for w in parse_delivery(payload).warnings)


def test_a_delivery_over_meta_batch_limit_is_read_in_full_with_a_warning() -> None:
    items = [message_item(f"mid.{n}", text="x") for n in range(META_BATCH_LIMIT + 1)]

    parsed = parse_delivery(delivery(entry(*items)))

    assert len(parsed.messages) == META_BATCH_LIMIT + 1
    (warning,) = parsed.warnings
    assert (
        warning == f"{META_BATCH_LIMIT + 1} items exceed Meta's batch limit of 1000; all were read"
    )


def test_warnings_are_capped_for_a_delivery_full_of_junk() -> None:
    parsed = parse_delivery(delivery(entry(*(["junk"] * 500))))

    assert len(parsed.warnings) == MAX_WARNINGS + 1
    assert parsed.warnings[-1] == f"{500 - MAX_WARNINGS} more warnings suppressed"


# --- never raises ---------------------------------------------------------------------------

# What json.loads can return, NaN and infinities included (Python's decoder accepts them).
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
# Well-formed parts, in the variety Meta (and its dashboard) may send them.
# Alphabets rather than regexes: the same strings, drawn several times faster.
ID_CHARS = string.ascii_letters + string.digits + "_.=-"
ids = st.text(ID_CHARS, min_size=1, max_size=12) | st.integers(1, 10**18)
timestamps = st.integers(1, 2 * 10**12) | st.text(string.digits, min_size=1, max_size=13)
parties = st.fixed_dictionaries({"id": ids})
messages = st.fixed_dictionaries(
    {"mid": ids},
    optional={
        "text": st.text(max_size=10),
        "attachments": st.lists(st.sampled_from(list(ATTACHMENTS.values())), max_size=3),
        **{flag: st.booleans() for flag in ("is_echo", "is_deleted", "is_unsupported")},
        "reply_to": st.fixed_dictionaries({"mid": ids}),
        "quick_reply": st.fixed_dictionaries({"payload": st.text(max_size=5)}),
    },
)
EVENT_KEYS = ("reaction", "read", "postback", "referral", "optin", "message_edit", "delivery")
items = st.builds(
    lambda header, event: {**header, **event},
    st.fixed_dictionaries(
        {"sender": parties, "recipient": parties}, optional={"timestamp": timestamps}
    ),
    st.fixed_dictionaries({"message": messages})
    | st.dictionaries(
        st.sampled_from(EVENT_KEYS), st.fixed_dictionaries({"mid": ids}), min_size=1, max_size=1
    ),
)
changes = st.fixed_dictionaries(
    {"field": st.sampled_from(["messages", "comments"]), "value": items}
)
entries = st.fixed_dictionaries(
    {"id": ids, "time": timestamps, "messaging": st.lists(items, min_size=1, max_size=4)},
    optional={"standby": st.lists(items, max_size=2), "changes": st.lists(changes, max_size=2)},
)
deliveries = st.fixed_dictionaries(
    {"object": st.just("instagram"), "entry": st.lists(entries, max_size=3)}
)


def positions(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a decoded JSON tree, for replacing one part of it."""
    found: list[tuple[Any, Any]] = []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in children:
        found.append((node, key))
        found.extend(positions(child))
    return found


@st.composite
def near_miss_deliveries(draw: st.DrawFn) -> Any:
    """A well-formed delivery with one to three of its parts replaced by arbitrary JSON."""
    # A copy, since drawn values may share objects (ATTACHMENTS) that other examples use.
    payload = copy.deepcopy(draw(deliveries))
    for _ in range(draw(st.integers(1, 3))):
        container, key = draw(st.sampled_from(positions(payload)))
        container[key] = draw(json_values)
    return payload


def assert_well_formed(parsed: ParsedDelivery) -> None:
    assert isinstance(parsed, ParsedDelivery)
    keys = [(m.mid, m.is_deleted) for m in parsed.messages]
    assert len(keys) == len(set(keys))
    for received in parsed.messages:
        assert all(
            isinstance(v, str) and v.strip()
            for v in (received.mid, received.sender_ig_id, received.recipient_ig_id)
        )
        assert isinstance(received.timestamp, int) and received.timestamp > 0
        # What the parser accepts, the ingest endpoint takes: one set of rules.
        msgspec.json.decode(msgspec.json.encode(received.to_ingest_body()), type=IngestEventRequest)
    for event in parsed.other_events:
        assert isinstance(event.kind, str) and isinstance(event.raw, dict)
    for edit in parsed.edits:
        assert isinstance(edit.mid, str) and edit.mid.strip() and edit.num_edit >= 0
        msgspec.json.decode(msgspec.json.encode(edit.to_ingest_body()), type=IngestEditRequest)
    assert all(isinstance(w, str) for w in parsed.warnings)


@settings(max_examples=300)
@given(json_values)
def test_any_json_value_parses_without_raising(payload: Any) -> None:
    assert_well_formed(parse_delivery(payload))


# The slowest property (drawing a whole delivery costs ~20 ms): CI runs 500 examples, the same
# ones every build; a developer's run takes 100, new ones each run, so the unit tier stays fast.
NEAR_MISS_EXAMPLES = 500 if settings.get_current_profile_name() == "ci" else 100


@settings(max_examples=NEAR_MISS_EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(near_miss_deliveries())
def test_near_miss_deliveries_parse_without_raising(payload: dict) -> None:
    assert_well_formed(parse_delivery(payload))


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.text(ID_CHARS, min_size=1, max_size=40),
            st.text(st.characters(exclude_characters="\x00"), max_size=30),  # Postgres' text
            st.integers(min_value=1, max_value=10**12 * 9),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda sent: sent[0],
    )
)
def test_every_valid_message_in_a_delivery_comes_back(sent: list[tuple[str, str, int]]) -> None:
    payload = delivery(
        entry(*(message_item(mid, text=text, timestamp=ts) for mid, text, ts in sent))
    )

    parsed = parse_delivery(payload)

    assert [(m.mid, m.message_text) for m in parsed.messages] == [
        (mid, text) for mid, text, _ in sent
    ]
    assert parsed.warnings == ()


# --- one set of rules with the ingest endpoint -----------------------------------------------

# Ids the ingest endpoint refuses: control characters (an ESC would drive an operator's
# terminal), invisible ones (zero-width, bidirectional overrides, a byte-order mark), lone
# surrogates (not UTF-8), blanks, and more than 256 characters.
UNTAKEABLE_IDS = [
    "mid.1\x1b[31m",
    "mid\x7f",
    "mid\x85",
    "mid\u200b",
    "\u202emid",
    "\ufeffmid",
    "mid\u2066",
    "mid\ud800",
    "\u3000",
    "m" * 257,
]


def ingest_endpoint_takes(body: dict) -> bool:
    try:
        msgspec.convert(body, IngestEventRequest)
    except msgspec.ValidationError:
        return False
    return True


@pytest.mark.parametrize("bad", UNTAKEABLE_IDS)
@pytest.mark.parametrize("field", ["mid", "sender", "recipient"])
def test_a_message_with_an_id_the_ingest_endpoint_refuses_is_refused_and_recorded(
    field: str, bad: str
) -> None:
    raw = message_item(**{field: bad}) if field != "mid" else message_item(bad)
    assert not ingest_endpoint_takes(
        {**GOOD_BODY, "mid" if field == "mid" else f"{field}_ig_id": bad}
    )

    parsed = parse_delivery(delivery(entry(raw, message_item("mid.good", timestamp=SENT_MS + 1))))

    assert [m.mid for m in parsed.messages] == ["mid.good"]
    [refusal] = parsed.refused
    assert refusal.startswith("entry[0].messaging[0]: message refused, no valid ")


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_the_parser_reads_an_id_exactly_when_the_ingest_endpoint_takes_it(mid: str) -> None:
    parsed = parse_delivery(delivery(entry(message_item(mid))))

    assert bool(parsed.messages) == ingest_endpoint_takes({**GOOD_BODY, "mid": mid})


@pytest.mark.parametrize("bad", UNTAKEABLE_IDS)
def test_other_events_and_edits_never_carry_an_id_the_endpoint_refuses(bad: str) -> None:
    parsed = parse_delivery(
        delivery(
            entry(
                item(sender=bad, reaction={"mid": bad, "action": "react"}),
                item(sender=bad, message_edit={"mid": "mid.e", "text": "t", "num_edit": 1}),
                item(message_edit={"mid": bad, "text": "t", "num_edit": 1}),
                account=bad,
            )
        )
    )

    [reaction] = parsed.other_events
    assert reaction.sender_id is None and reaction.mid is None
    assert parsed.edits == ()
    assert len(parsed.refused) == 2


def test_attachments_sent_as_an_object_are_kept_as_received() -> None:
    sent = {"type": "share", "payload": {"url": CDN}}

    parsed = parse_delivery(delivery(entry(message_item(attachments=sent))))

    assert parsed.messages[0].attachments == sent
    assert parsed.warnings == parsed.refused == ()


def test_attachments_with_entries_that_are_not_objects_are_kept_as_received() -> None:
    sent = [ATTACHMENTS["ig_reel"], "x", None]

    parsed = parse_delivery(delivery(entry(message_item(attachments=sent))))

    assert parsed.messages[0].attachments == sent
    assert parsed.warnings == parsed.refused == ()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": 42}, "$.message_text"),
        ({"text": "nul \x00 in it"}, "$.message_text"),
        ({"attachments": "image"}, "$.attachments"),
        ({"reply_to": "mid.0"}, "$.reply_to"),
        ({"quick_reply": []}, "$.quick_reply"),
    ],
)
def test_a_message_with_a_field_the_endpoint_refuses_is_refused_and_says_which(
    fields: dict, field: str
) -> None:
    parsed = parse_delivery(delivery(entry(message_item("mid.x", **fields))))

    assert parsed.messages == ()
    [refusal] = parsed.refused
    assert refusal.startswith("entry[0].messaging[0]: message mid.x refused, ")
    assert field in refusal


def test_a_postback_with_a_payload_that_is_not_text_is_refused_and_says_why() -> None:
    raw = item(postback={"mid": "mid.pb", "title": "Hi", "payload": {"x": 1}})

    parsed = parse_delivery(delivery(entry(raw)))

    assert parsed.messages == ()
    [refusal] = parsed.refused
    assert "mid.pb" in refusal and "$.postback_payload" in refusal


def test_an_edit_with_text_that_is_not_text_is_refused_and_says_why() -> None:
    raw = item(message_edit={"mid": "mid.e", "text": ["x"], "num_edit": 1})

    parsed = parse_delivery(delivery(entry(raw)))

    assert parsed.edits == ()
    [refusal] = parsed.refused
    assert "mid.e" in refusal and "$.text" in refusal
