"""The sandbox's Conversations API on real loopback sockets, read by the service's own
client (`service.instagram.conversations_api`): paging, the messages edge's cap of 20, a
message by id, 'deleted' beyond the 20, and 613 over 2 calls a second."""

from __future__ import annotations

import datetime as dt

import pytest

from devtools.sandbox import Sandbox
from service.instagram import InvalidAccessTokenError, RateLimitedError, build_http_client
from service.instagram import conversations_api as api

ACCOUNT = "17841400000000001"
TOKEN = "sandbox-token"
NOW = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def sandbox():
    with Sandbox() as running:
        running.conversations.limit_rate(0)
        yield running


def record(sandbox: Sandbox, sender: str, n: int, *, minutes_ago: float = 0) -> list[str]:
    """`n` messages from `sender`, a minute apart, the last `minutes_ago`; their ids."""
    return [
        sandbox.conversations.record(
            ACCOUNT,
            sender,
            ACCOUNT,
            f"m{i}",
            mid=f"{sender}-m{i}",
            created_time=NOW - dt.timedelta(minutes=minutes_ago + n - 1 - i),
        )["id"]
        for i in range(n)
    ]


@pytest.mark.anyio
async def test_conversations_come_newest_first_a_page_at_a_time(sandbox):
    for i in range(5):
        record(sandbox, f"user-{i}", 1, minutes_ago=10 - i)
    async with build_http_client(5) as http:
        first = await api.conversations_page(http, sandbox.url, ACCOUNT, TOKEN, limit=3)
        second = await api.conversations_page(
            http, sandbox.url, ACCOUNT, TOKEN, after=first.after, limit=3
        )
    times = [c.updated_time for c in first.conversations + second.conversations]
    assert len(times) == 5 and times == sorted(times, reverse=True)
    assert times[0] == NOW - dt.timedelta(minutes=6)
    assert first.after is not None and second.after is None


@pytest.mark.anyio
async def test_the_messages_edge_lists_the_20_most_recent_and_older_ones_are_deleted(sandbox):
    mids = record(sandbox, "user-1", 25)
    async with build_http_client(5) as http:
        [conversation] = (
            await api.conversations_page(http, sandbox.url, ACCOUNT, TOKEN)
        ).conversations
        listed = await api.conversation_messages(http, sandbox.url, conversation.id, TOKEN)
        recent = await api.message(http, sandbox.url, mids[-1], TOKEN)
        older = await api.message(http, sandbox.url, mids[0], TOKEN)
    assert [m.id for m in listed] == mids[5:][::-1]
    assert recent is not None and recent["from"]["id"] == "user-1" and recent["message"] == "m24"
    assert recent["to"]["data"][0]["id"] == ACCOUNT
    assert older is None


@pytest.mark.anyio
async def test_a_third_call_within_a_second_is_answered_613(sandbox):
    sandbox.conversations.limit_rate(2)
    async with build_http_client(5) as http:
        for _ in range(2):
            await api.conversations_page(http, sandbox.url, ACCOUNT, TOKEN)
        with pytest.raises(RateLimitedError) as refused:
            await api.conversations_page(http, sandbox.url, ACCOUNT, TOKEN)
    assert refused.value.code == 613 and sandbox.conversations.refused == 1


@pytest.mark.anyio
async def test_a_revoked_token_is_refused_with_code_190(sandbox):
    sandbox.accounts.revoke(TOKEN)
    async with build_http_client(5) as http:
        with pytest.raises(InvalidAccessTokenError):
            await api.conversations_page(http, sandbox.url, ACCOUNT, TOKEN)
