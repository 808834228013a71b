"""Asking for a sender's profile once their message was decided and its DM sent: a job of
its own on the `profiles` queue (`fetching`), queued at most once at a time per sender.

An account's fetches wait in one line (`jobs.defer_fetch_sender_profile`): one runs at a
time and waits its turn under `GRAPH_READ_RATE`, so a thousand new senders cost a thousand
reads and as many wake-ups, not a thousand jobs waking at every turn to find it taken.

Meta answers the User Profile API only once the user has written to the account, so the
first message is the first moment to ask. This runs after the message's DMs went out, and
a failure here is logged, never raised: a profile never delays, fails or repeats a DM.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import structlog

from service.business_account.accounts import account_of
from service.core import jobs
from service.core.runtime import Runtime
from service.store import instagram_profiles

log = structlog.get_logger("sender_profiles")


async def request_when_due(rt: Runtime, mid: str) -> bool:
    """Queue the fetch of message `mid`'s sender's profile if it is due; whether queued."""
    try:
        async with rt.pool.connection() as conn:
            due = await instagram_profiles.due_for_fetch(
                conn, mid, refresh_seconds=rt.settings.profile_refresh_seconds
            )
        return due is not None and await jobs.defer_fetch_sender_profile(
            rt.jobs, due.ig_id, account=account_of(rt.settings, due.account_ig_id)
        )
    except psycopg.Error as exc:
        log.warning("sender profile not requested", mid=mid, error=repr(exc))
        return False


async def request_each_when_due(rt: Runtime, mids: Sequence[str]) -> int:
    """`request_when_due` for several messages, checked in one statement; how many
    fetches were queued."""
    if not mids:
        return 0
    try:
        async with rt.pool.connection() as conn:
            due = await instagram_profiles.due_for_fetch_many(
                conn, mids, refresh_seconds=rt.settings.profile_refresh_seconds
            )
        return await jobs.defer_fetch_sender_profiles(
            rt.jobs, [(d.ig_id, account_of(rt.settings, d.account_ig_id)) for d in due]
        )
    except psycopg.Error as exc:
        log.warning("sender profiles not requested", mids=len(mids), error=repr(exc))
        return 0
