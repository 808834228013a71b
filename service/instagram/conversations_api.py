"""The Instagram Conversations API, as the reconciliation reads it (`service.reconcile`):

    GET {base}/{account}/conversations?platform=instagram&fields=id,updated_time
        -> {"data": [{"id", "updated_time"}], "paging": {"cursors": {"after"}, "next"}}
        most recently updated first
    GET {base}/{conversation-id}?fields=messages
        -> {"id", "messages": {"data": [{"id", "created_time"}]}}  the 20 most recent only
    GET {base}/{message-id}?fields=id,created_time,from,to,message,attachments
        -> the message; one older than a conversation's 20 most recent answers as deleted

Meta allows 2 of these calls a second per account; the caller paces them. Failures raise
the `graph_errors` tree, but a message Meta no longer gives (deleted, or out of reach)
is None: a fact the caller counts, not a failure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import httpx

from service.instagram.account_api import get_json
from service.instagram.graph_errors import GraphError, InvalidAccessTokenError, PermanentGraphError

# Meta's largest page of conversations.
PAGE_SIZE = 100
# The messages edge's cap: a conversation gives its 20 most recent messages, no more.
MESSAGES_CAP = 20
MESSAGE_FIELDS = "id,created_time,from,to,message,attachments"


@dataclasses.dataclass(frozen=True)
class Conversation:
    id: str
    updated_time: dt.datetime


@dataclasses.dataclass(frozen=True)
class ConversationsPage:
    conversations: tuple[Conversation, ...]
    after: str | None  # the next page's cursor; None on the last page


@dataclasses.dataclass(frozen=True)
class MessageRef:
    """A message as a conversation lists it."""

    id: str
    created_time: dt.datetime


async def conversations_page(
    http: httpx.AsyncClient,
    base_url: str,
    account_id: str,
    token: str,
    *,
    after: str | None = None,
    limit: int = PAGE_SIZE,
) -> ConversationsPage:
    params = {"platform": "instagram", "fields": "id,updated_time", "limit": str(limit)}
    if after:
        params["after"] = after
    url = f"{base_url.rstrip('/')}/{account_id}/conversations"
    document = await get_json(http, url, token, params=params)
    conversations = tuple(
        Conversation(str(item["id"]), _time(item.get("updated_time")))
        for item in _data(document, "conversations")
    )
    paging = document.get("paging")
    cursors = paging.get("cursors") if isinstance(paging, dict) else None
    has_next = isinstance(paging, dict) and bool(paging.get("next"))
    cursor = cursors.get("after") if isinstance(cursors, dict) else None
    return ConversationsPage(conversations, str(cursor) if has_next and cursor else None)


async def conversation_messages(
    http: httpx.AsyncClient, base_url: str, conversation_id: str, token: str
) -> tuple[MessageRef, ...]:
    """The conversation's most recent messages (at most `MESSAGES_CAP`), newest first."""
    url = f"{base_url.rstrip('/')}/{conversation_id}"
    document = await get_json(http, url, token, params={"fields": "messages"})
    edge = document.get("messages")
    items = _data(edge, "messages") if isinstance(edge, dict) else []
    return tuple(MessageRef(str(item["id"]), _time(item.get("created_time"))) for item in items)


async def message(
    http: httpx.AsyncClient, base_url: str, message_id: str, token: str
) -> dict[str, Any] | None:
    """The message's fields (`MESSAGE_FIELDS`); None when Meta answers that it is deleted
    or otherwise gives it no more."""
    url = f"{base_url.rstrip('/')}/{message_id}"
    try:
        return await get_json(http, url, token, params={"fields": MESSAGE_FIELDS})
    except InvalidAccessTokenError:
        raise
    except PermanentGraphError:
        return None


def _data(document: dict[str, Any], what: str) -> list[dict[str, Any]]:
    items = document.get("data")
    if not isinstance(items, list):
        raise GraphError(f"the {what} answer has no data list")
    return [item for item in items if isinstance(item, dict) and item.get("id")]


def _time(value: Any) -> dt.datetime:
    """Meta's ISO 8601 time (`2026-12-07T09:03:53+0000`), in UTC."""
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise GraphError(
            f"the Conversations API answered a time that is not one: {value!r}"
        ) from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
