"""Webhook deliveries in Meta's documented shapes ("Webhooks for Instagram Messaging",
"Instagram Platform Webhook Notification Examples"), built the way Meta sends them."""

from __future__ import annotations

from typing import Any

ACCOUNT = "17841400000000001"  # our Instagram professional account: entry.id
USER = "1254001234567890"  # a customer's Instagram-scoped id (IGSID)
SENT_MS = 1_761_287_294_014  # when the event happened, in Meta's milliseconds
ENTRY_MS = 1_761_287_298_065  # when Meta sent the notification
CDN = "https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18139494541428835&signature=abc"


# --- factories: build deliveries the way Meta documents them ------------------------------


def item(
    *, sender: Any = USER, recipient: Any = ACCOUNT, timestamp: Any = SENT_MS, **event: Any
) -> dict:
    """One `messaging[]` item: sender, recipient, timestamp and one event key."""
    return {
        "sender": {"id": sender},
        "recipient": {"id": recipient},
        "timestamp": timestamp,
        **event,
    }


def message(
    mid: str = "mid.1", *, text: Any = None, attachments: Any = None, **fields: Any
) -> dict:
    """The `message` object of a `messages` event."""
    body: dict[str, Any] = {"mid": mid, **fields}
    if text is not None:
        body["text"] = text
    if attachments is not None:
        body["attachments"] = attachments
    return body


def message_item(
    mid: str = "mid.1",
    *,
    text: Any = None,
    attachments: Any = None,
    sender: Any = USER,
    recipient: Any = ACCOUNT,
    timestamp: Any = SENT_MS,
    **fields: Any,
) -> dict:
    """A `messaging[]` item carrying a message; extra keywords go into the message."""
    body = message(mid, text=text, attachments=attachments, **fields)
    return item(sender=sender, recipient=recipient, timestamp=timestamp, message=body)


def entry(*messaging: Any, account: Any = ACCOUNT, time: Any = ENTRY_MS, **lists: Any) -> dict:
    """One `entry[]` element; `standby=[...]` or `changes=[...]` add those arrays."""
    body: dict[str, Any] = {"id": account, "time": time, **lists}
    if messaging:
        body["messaging"] = list(messaging)
    return body


def delivery(*entries: Any, object: Any = "instagram") -> dict:
    return {"object": object, "entry": list(entries)}


def attachment(kind: str, **payload: Any) -> dict:
    return {"type": kind, "payload": payload}


def dashboard_test_delivery() -> dict:
    """What the App Dashboard's "Test" button sends for the messages field: the event under
    `changes`, its timestamp a string of seconds. A new dict each call, for a test to change."""
    return {
        "object": "instagram",
        "entry": [
            {
                "id": "0",
                "time": 1_661_141_837_537,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "sender": {"id": "12334"},
                            "recipient": {"id": "23245"},
                            "timestamp": "1527459824",
                            "message": {"mid": "random_mid", "text": "random_text"},
                        },
                    }
                ],
            }
        ],
    }


# --- the largest delivery Meta sends ------------------------------------------------------

# Meta batches at most 1000 updates in a delivery, and a message's text is at most 1000
# characters; Meta escapes every non-ASCII character (`\uXXXX`, six bytes each).
MAX_UPDATES = 1000
MAX_TEXT_CHARS = 1000


def largest_delivery() -> dict:
    """1000 messages of the longest text, every character one Meta escapes."""
    return delivery(
        entry(
            *(
                message_item(
                    f"aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0MDI4{n:08d}",
                    text="é" * MAX_TEXT_CHARS,
                    sender=f"{USER}{n:04d}",
                )
                for n in range(MAX_UPDATES)
            )
        )
    )


# --- shared content, as Meta documents each attachment ------------------------------------

REEL_ID = "18087782618022081"
POST_ID = "18139494541428835"
POST_URL = "https://www.instagram.com/p/C0a1b2c3d4e/"


def shared_reel(*, kind: str = "ig_reel") -> dict:
    """A reel shared into the chat (`reel` is the older name of `ig_reel`)."""
    return attachment(kind, reel_video_id=REEL_ID, title="a reel", url=CDN)


def shared_post_new_style() -> list[dict]:
    """A post shared since November 2025: the same post as `share` and as `ig_post`."""
    return [
        attachment("share", ig_post_media_id=POST_ID, title="a post", url=CDN),
        attachment("ig_post", ig_post_media_id=POST_ID, title="a post", url=CDN),
    ]


def shared_post_old_style() -> dict:
    """A post shared before November 2025: `share`, its link alone."""
    return attachment("share", url=POST_URL)


def story_mention() -> dict:
    """The user mentioned the account in their story: a CDN URL, refreshed by the message."""
    return attachment("story_mention", url=CDN)


def ephemeral_media() -> dict:
    """A photo or video sent to be seen once: Meta gives no URL."""
    return {"type": "ephemeral"}


def unknown_attachment() -> dict:
    """A type Meta adds after this code was written."""
    return attachment("a_type_meta_adds_next_year", anything={"nested": [1, 2]})
