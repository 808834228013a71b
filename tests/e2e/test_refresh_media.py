"""Fresh media URLs on request (`POST /api/internal/messages/{mid}/refresh-media`): the
message read again from the Graph API (the sandbox), its shared items' URLs replaced."""

from __future__ import annotations

from tests.support.meta_payloads import (
    CDN,
    POST_ID,
    REEL_ID,
    attachment,
    shared_post_new_style,
    shared_reel,
    story_mention,
)

FRESH = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=1&signature=fresh"


def refresh(api, mid: str = "mid-1", **kwargs):
    return api.post(f"/api/internal/messages/{mid}/refresh-media", None, **kwargs)


def test_fresh_urls_replace_the_shared_items_urls_and_nothing_else(api):
    sent = [shared_reel(), *shared_post_new_style()]
    api.ingest(attachments=sent)
    fresh = [attachment("ig_reel", url=FRESH), *[{"image_data": {"url": FRESH + "2"}}] * 2]
    api.sandbox.objects.set_message("mid-1", attachments=fresh)

    response = refresh(api)

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(i["kind"], i["media_id"], i["url"]) for i in body["shared_items"]] == [
        ("reel", REEL_ID, FRESH),
        ("post", POST_ID, FRESH + "2"),
    ]
    [row] = api.rows("SELECT attachments, shared_items, media_refreshed_at FROM messages")
    assert row["attachments"] == sent  # as received
    assert row["shared_items"] == body["shared_items"] and row["media_refreshed_at"]
    assert api.sandbox.objects.reads["attachments"] == 1


def test_a_story_mention_takes_the_storys_fresh_link(api):
    api.ingest(attachments=[story_mention()])
    api.sandbox.objects.set_message("mid-1", story_url=FRESH)

    response = refresh(api)

    assert response.status_code == 200, response.text
    assert [(i["kind"], i["url"]) for i in response.json()["shared_items"]] == [
        ("story_mention", FRESH)
    ]
    assert api.sandbox.objects.reads["story"] == 1


def test_a_message_meta_dropped_is_410_recorded_and_not_asked_again(api):
    api.ingest(attachments=[shared_reel()])
    api.sandbox.objects.drop_message("mid-1")

    first, second = refresh(api), refresh(api)

    assert (first.status_code, second.status_code) == (410, 410), first.text
    assert "no longer" in first.json()["detail"]
    [row] = api.rows("SELECT media_gone_at, shared_items FROM messages")
    assert row["media_gone_at"] is not None and row["shared_items"][0]["url"] == CDN
    assert api.sandbox.objects.reads["attachments"] == 1


def test_an_unknown_mid_is_404_and_asks_meta_nothing(api):
    assert refresh(api, "no-such-mid").status_code == 404
    assert refresh(api, "%00").status_code == 404
    assert api.sandbox.objects.reads == {}


def test_a_message_that_shared_nothing_has_nothing_to_refresh(api):
    api.ingest()

    response = refresh(api)

    assert response.status_code == 200
    assert response.json()["shared_items"] == [] and response.json()["refreshed_at"] is None
    assert api.sandbox.objects.reads == {}


def test_the_service_token_is_required(api):
    api.ingest(attachments=[shared_reel()])

    assert refresh(api, token=None).status_code == 401
    assert refresh(api, token="wrong").status_code == 401
