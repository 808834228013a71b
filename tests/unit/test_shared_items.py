"""What a message shared, typed for Phase 3 (`messages.shared_items`), from Meta's documented
attachments; the attachments themselves stay as received (tests/unit/test_webhook_parse.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from service.store.inbound_event import InboundEvent
from service.store.shared_items import SharedItem, shared_items
from tests.support.meta_payloads import (
    CDN,
    POST_ID,
    POST_URL,
    REEL_ID,
    attachment,
    ephemeral_media,
    shared_post_new_style,
    shared_post_old_style,
    shared_reel,
    story_mention,
    unknown_attachment,
)


@pytest.mark.parametrize("kind", ["ig_reel", "reel"])
def test_a_shared_reel_is_one_reel_with_its_video_id(kind: str) -> None:
    assert shared_items([shared_reel(kind=kind)]) == (
        SharedItem(kind="reel", media_id=REEL_ID, url=CDN, title="a reel"),
    )


def test_a_post_sent_as_both_share_and_ig_post_is_one_post() -> None:
    assert shared_items(shared_post_new_style()) == (
        SharedItem(kind="post", media_id=POST_ID, url=CDN, title="a post"),
    )


def test_a_post_shared_old_style_is_a_post_with_its_link() -> None:
    assert shared_items([shared_post_old_style()]) == (SharedItem(kind="post", url=POST_URL),)


def test_a_share_of_another_post_than_the_ig_post_stays_its_own_item() -> None:
    other = attachment("share", ig_post_media_id="1", url=POST_URL)

    assert [item.media_id for item in shared_items([other, *shared_post_new_style()])] == [
        "1",
        POST_ID,
    ]


def test_a_share_without_a_media_id_is_the_ig_post_of_the_same_url() -> None:
    both = [attachment("share", url=CDN), attachment("ig_post", ig_post_media_id=POST_ID, url=CDN)]

    assert shared_items(both) == (SharedItem(kind="post", media_id=POST_ID, url=CDN),)


def test_a_story_mention_and_a_story_keep_their_urls() -> None:
    story = attachment("ig_story", id="17900000000000000", url=CDN)

    assert shared_items([story_mention(), story]) == (
        SharedItem(kind="story_mention", url=CDN),
        SharedItem(kind="story", media_id="17900000000000000", url=CDN),
    )


@pytest.mark.parametrize("kind", ["image", "video", "audio", "file"])
def test_plain_media_keep_their_kind_and_url(kind: str) -> None:
    assert shared_items([attachment(kind, url=CDN)]) == (SharedItem(kind=kind, url=CDN),)


def test_ephemeral_media_is_other_with_its_type() -> None:
    assert shared_items([ephemeral_media()]) == (SharedItem(kind="other", type="ephemeral"),)


def test_an_unknown_type_is_other_carrying_the_type_never_an_error() -> None:
    assert shared_items([unknown_attachment()]) == (
        SharedItem(kind="other", type="a_type_meta_adds_next_year"),
    )


@pytest.mark.parametrize(
    "malformed",
    ["x", None, 3, {"payload": {}}, {"type": 7}, {"type": "ig_reel", "payload": "x"}],
)
def test_a_malformed_attachment_is_an_item_of_nulls_never_an_error(malformed: object) -> None:
    [item] = shared_items([malformed])

    assert (item.media_id, item.url, item.title) == (None, None, None)


def test_numeric_ids_are_read_as_their_digits() -> None:
    [item] = shared_items([attachment("ig_reel", reel_video_id=18087782618022081)])

    assert item.media_id == REEL_ID


def test_a_single_attachment_object_counts_as_a_list_of_one() -> None:
    assert shared_items(story_mention()) == (SharedItem(kind="story_mention", url=CDN),)


def test_a_text_only_message_shared_nothing() -> None:
    assert shared_items(None) == ()
    assert shared_items([]) == ()


def test_the_stored_event_computes_its_shared_items_from_its_attachments() -> None:
    sent = [shared_reel(), *shared_post_new_style()]
    event = InboundEvent(
        mid="m-1",
        sender_ig_id="u",
        recipient_ig_id="a",
        timestamp=dt.datetime.now(dt.UTC),
        attachments=sent,
        shared_items=(),
    )

    assert [item.kind for item in event.shared_items] == ["reel", "post"]
    assert event.attachments is sent  # kept exactly as received


def test_an_unsend_shares_nothing_whatever_came_with_it() -> None:
    event = InboundEvent(
        mid="m-1",
        sender_ig_id="u",
        recipient_ig_id="a",
        timestamp=dt.datetime.now(dt.UTC),
        attachments=[shared_reel()],
        is_deleted=True,
    )

    assert event.shared_items == ()
