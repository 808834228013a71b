"""Fresh media URLs on request (`POST /api/internal/messages/{mid}/refresh-media`).

Meta's media URLs expire within days and Meta forbids keeping the media, so Phase 3 asks for
fresh ones when it needs them: the message is read again from the Graph API, as the
account, `GET /{mid}?fields=attachments` (or `?fields=story` for a story mention, whose URL
comes from there), and the URLs of its `shared_items` are replaced; kinds, ids and titles
stay as they were, and `attachments` stays as received. The read takes its turn from the
account's read bucket (`GRAPH_READ_RATE`), never a send's.

Meta's answers: the message (200 with the items); an unknown mid is 404; a message unsent,
or one Meta answers it no longer has (any permanent refusal), is 410, recorded, so it is
never asked again; a refused token (190) holds the account's sends as a send's does, and
it, Meta's rate limits and passing failures are 429 with the seconds to wait.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import msgspec

from service.business_account import access_token, pacing
from service.business_account.accounts import environment_account, fallback_account
from service.core.errors import Gone, NotFound, RateLimited
from service.core.runtime import Runtime
from service.instagram import (
    GraphError,
    InvalidAccessTokenError,
    PermanentGraphError,
    RateLimitedError,
)
from service.store import messages
from service.store.shared_items import SharedItem, shared_items

# How long a caller waits after a Graph API failure that is not Meta's rate limit.
RETRY_AFTER_FAILURE_SECONDS = 5.0
RETRY_AFTER_RATE_LIMIT_SECONDS = 60.0
# Where each shape of attachment Meta sends holds its URL: the webhook's `payload`, the
# Conversations API's `image_data`, `video_data`, `file_url`.
_URL_PATHS = (("payload", "url"), ("image_data", "url"), ("video_data", "url"), ("file_url",))


@dataclasses.dataclass(frozen=True)
class Refreshed:
    mid: str
    shared_items: tuple[SharedItem, ...]
    refreshed_at: dt.datetime | None  # None: nothing shared, nothing to refresh


async def refresh_media(rt: Runtime, mid: str) -> Refreshed:
    """Read message `mid` again from Meta and store its shared items' fresh URLs."""
    async with rt.pool.connection() as conn:
        found = await messages.media(conn, mid)
    if found is None:
        raise NotFound("no message has this mid")
    if found.deleted_at is not None or found.media_gone_at is not None:
        raise Gone("Meta no longer has this message: its media cannot be refreshed")
    if not found.shared_items:
        return Refreshed(mid, (), None)
    story = any(item.get("kind") == "story_mention" for item in found.shared_items)
    account = await _account(rt, found.recipient_ig_id)
    answer = await _read(rt, account, mid, "story" if story else "attachments")
    items = with_story_url(found, answer) if story else with_fresh_urls(found, answer)
    async with rt.pool.connection() as conn:
        at = await messages.refresh_media(conn, mid, items)
    if at is None:
        raise Gone("the message was unsent meanwhile")
    return Refreshed(mid, items, at)


def with_fresh_urls(found: messages.Media, answer: dict[str, Any]) -> tuple[SharedItem, ...]:
    """The shared items of the stored attachments, each given the URL of Meta's attachment
    at its place in the fresh answer (where it has one)."""
    data = answer.get("attachments")
    fresh = data.get("data") if isinstance(data, dict) else None
    if not isinstance(fresh, list):
        return shared_items(found.attachments)
    stored = found.attachments if isinstance(found.attachments, list) else [found.attachments]
    refreshed = [
        _with_url(attachment, _url_of(fresh[n]) if n < len(fresh) else None)
        for n, attachment in enumerate(stored)
    ]
    return shared_items(refreshed)


def with_story_url(found: messages.Media, answer: dict[str, Any]) -> tuple[SharedItem, ...]:
    """The shared items, each story mention's URL the story's fresh link."""
    story = answer.get("story")
    mention = story.get("mention") if isinstance(story, dict) else None
    link = mention.get("link") if isinstance(mention, dict) else None
    items = shared_items(found.attachments)
    if not isinstance(link, str):
        return items
    return tuple(
        msgspec.structs.replace(item, url=link) if item.kind == "story_mention" else item
        for item in items
    )


def _url_of(attachment: Any) -> str | None:
    for path in _URL_PATHS:
        value = attachment
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    return None


def _with_url(attachment: Any, url: str | None) -> Any:
    if url is None or not isinstance(attachment, dict):
        return attachment
    payload = attachment.get("payload")
    return {**attachment, "payload": {**(payload if isinstance(payload, dict) else {}), "url": url}}


async def _account(rt: Runtime, recipient: str) -> str:
    """The account that reads the message: the one it was sent to, when answered; else
    the environment's (which answers messages no answered account's id names)."""
    if recipient in await rt.accounts.answered():
        return recipient
    return fallback_account(rt.settings) or environment_account(rt.settings)


async def _read(rt: Runtime, account: str, mid: str, field: str) -> dict[str, Any]:
    """Meta's answer for the message, in its turn; the refusal each failure comes to."""
    try:
        await pacing.take_read_turn(rt, account)
    except pacing.ReadPaced as paced:
        raise RateLimited(
            "waiting for a turn under GRAPH_READ_RATE", retry_after_seconds=paced.delay_seconds
        ) from None
    try:
        return await rt.accounts.graph(account).read(mid, field)
    except GraphError as exc:
        raise await _refusal(rt, account, mid, exc) from None


async def _refusal(rt: Runtime, account: str, mid: str, exc: GraphError) -> Exception:
    """What a Graph API failure answers the caller, once what it means is recorded."""
    if isinstance(exc, InvalidAccessTokenError):
        await access_token.mark_invalid(rt.pool, account, exc)
        return RateLimited(
            "the account's access token was refused; sends and reads wait for a new one",
            retry_after_seconds=rt.settings.token_hold_recheck_seconds,
        )
    if isinstance(exc, PermanentGraphError):
        async with rt.pool.connection() as conn:
            await messages.media_gone(conn, mid)
        return Gone("Meta no longer has this message: its media cannot be refreshed")
    if isinstance(exc, RateLimitedError):
        wait = exc.retry_after or RETRY_AFTER_RATE_LIMIT_SECONDS
        return RateLimited("the Graph API's rate limit holds", retry_after_seconds=wait)
    return RateLimited(
        "the Graph API did not answer; retry", retry_after_seconds=RETRY_AFTER_FAILURE_SECONDS
    )
