"""The walk over an account's conversations, and what a conversation's messages say about
what was lost: pure logic, each Graph call given as a function.

Meta lists conversations most recently updated first, a page at a time: the walk stops at
the first one not updated since the run's `since`, or at the last page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence

from service.instagram.conversations_api import (
    MESSAGES_CAP,
    Conversation,
    ConversationsPage,
    MessageRef,
)

FetchPage = Callable[[str | None], Awaitable[ConversationsPage]]


async def changed_conversations(
    fetch_page: FetchPage, since: dt.datetime
) -> AsyncIterator[Conversation]:
    """The conversations updated after `since`, following the paging (`fetch_page(after)`
    gives the page after that cursor, None the first)."""
    after: str | None = None
    while True:
        page = await fetch_page(after)
        for conversation in page.conversations:
            if conversation.updated_time <= since:
                return
            yield conversation
        if page.after is None or not page.conversations:
            return
        after = page.after


def missing(listed: Sequence[MessageRef], known: Collection[str]) -> list[MessageRef]:
    """The listed messages the service does not have, oldest first: recovered in the order
    they were sent."""
    return sorted((m for m in listed if m.id not in known), key=lambda m: m.created_time)


def lost_beyond_cap(
    listed: Sequence[MessageRef], known: Collection[str], since: dt.datetime
) -> bool:
    """Whether messages may have been lost beyond the messages edge's cap: it gave its full
    `MESSAGES_CAP`, and even the oldest of them is newer than `since` and unknown, so those
    before it, sent since, are out of reach."""
    if len(listed) < MESSAGES_CAP:
        return False
    oldest = min(listed, key=lambda m: m.created_time)
    return oldest.created_time > since and oldest.id not in known
