"""What a message shared, typed for Phase 3: `messages.shared_items`, computed from Meta's
attachments as received (which stay in `messages.attachments`, untouched).

One entry per thing shared, `{kind, media_id, url, title, type}`:

| Meta's `type` | `kind` | `media_id` from the payload's |
| --- | --- | --- |
| `ig_reel`, `reel` | `reel` | `reel_video_id` |
| `ig_post`, `share` | `post` | `ig_post_media_id` |
| `ig_story` | `story` | `id` |
| `story_mention` | `story_mention` | `id` |
| `image`, `video`, `audio`, `file` | the same | none |
| anything else (`ephemeral`, `like_heart`, a type Meta adds) | `other` | none |

`type` is Meta's type for an `other` entry (null for a malformed attachment), null for the
rest. Since November 2025 Meta sends a shared post twice, as `share` and as `ig_post`: a
`share` naming the same post as an `ig_post` of the message (the same `ig_post_media_id`, or
without one, the same `url`) is not an entry of its own, so one post is one entry. Nothing
here ever fails: a type not known, a payload missing or of the wrong shape is `other` or an
entry with nulls.
"""

from __future__ import annotations

from typing import Any

import msgspec

_KINDS = {
    "ig_reel": "reel",
    "reel": "reel",
    "ig_post": "post",
    "share": "post",
    "ig_story": "story",
    "story_mention": "story_mention",
    "image": "image",
    "video": "video",
    "audio": "audio",
    "file": "file",
}
_MEDIA_ID_KEYS = {
    "reel": "reel_video_id",
    "post": "ig_post_media_id",
    "story": "id",
    "story_mention": "id",
}


class SharedItem(msgspec.Struct, kw_only=True, frozen=True):
    kind: str
    media_id: str | None = None
    url: str | None = None
    title: str | None = None
    type: str | None = None  # Meta's own type, for kind `other`


def shared_items(attachments: Any) -> tuple[SharedItem, ...]:
    """The things `attachments` (a message's, as Meta sent them) shared, in their order."""
    if attachments is None:
        return ()
    listed = attachments if isinstance(attachments, list) else [attachments]
    read = [(_type(attachment), _item(attachment)) for attachment in listed]
    ig_posts = [item for meta_type, item in read if meta_type == "ig_post"]
    return tuple(
        item
        for meta_type, item in read
        if not (meta_type == "share" and any(_same_post(item, post) for post in ig_posts))
    )


def _type(attachment: Any) -> str | None:
    meta_type = attachment.get("type") if isinstance(attachment, dict) else None
    return meta_type if isinstance(meta_type, str) else None


def _item(attachment: Any) -> SharedItem:
    meta_type = _type(attachment)
    kind = _KINDS.get(meta_type or "")
    if kind is None:
        return SharedItem(kind="other", type=meta_type)
    payload = attachment.get("payload")
    if not isinstance(payload, dict):
        payload = {}
    id_key = _MEDIA_ID_KEYS.get(kind)
    return SharedItem(
        kind=kind,
        media_id=_text(payload.get(id_key)) if id_key else None,
        url=_text(payload.get("url")),
        title=_text(payload.get("title")),
    )


def _text(value: Any) -> str | None:
    """A payload's value as text: Meta's ids are digits, sometimes sent as numbers."""
    if isinstance(value, bool) or value is None:
        return None
    return str(value) if isinstance(value, str | int) else None


def _same_post(share: SharedItem, post: SharedItem) -> bool:
    if share.media_id is not None:
        return share.media_id == post.media_id
    return share.url is not None and share.url == post.url
