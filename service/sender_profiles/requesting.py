"""Asking for senders' profiles once their messages were decided and their DMs sent.

A sender due to be asked of Meta (never asked, or last answered more than
`PROFILE_REFRESH_SECONDS` ago) is marked requested (`instagram_profiles.profile_requested_at`),
and their account's one `fetch_sender_profiles` job (`fetching.fetch_requested`) is queued
unless it waits already. That job asks for the account's requested profiles in the order
they were asked for, each read taking its turn under `GRAPH_READ_RATE`: a thousand new
senders make a list of a thousand rows and one job that wakes once per read, not a thousand
jobs waking at every turn to find it taken.

Meta answers the User Profile API only once the user has written to the account, so the
first message is the first moment to ask. This runs after the messages' DMs went out, and
a failure here is logged, never raised: a profile never delays, fails or repeats a DM.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg
import structlog

from service.business_account.accounts import account_of, environment_account
from service.core import jobs
from service.core.runtime import Runtime
from service.store import instagram_profiles

log = structlog.get_logger("sender_profiles")


async def request_when_due(rt: Runtime, mid: str) -> int:
    """Ask for the profile of message `mid`'s sender if it is due; how many were asked."""
    return await request_each_when_due(rt, [mid])


async def request_each_when_due(rt: Runtime, mids: Sequence[str]) -> int:
    """Ask for the profiles of the senders of `mids` that are due, in one statement, and
    queue their accounts' fetch jobs that do not wait already; how many were asked."""
    if not mids:
        return 0
    s = rt.settings
    try:
        async with rt.pool.connection() as conn:
            requested = await instagram_profiles.request_fetch(
                conn,
                mids,
                refresh_seconds=s.profile_refresh_seconds,
                fallback=environment_account(s),
            )
        idle = {account_of(s, r.account_ig_id) for r in requested if not r.queued}
        for account in sorted(idle):
            await jobs.defer_fetch_sender_profiles(rt.jobs, account)
    except psycopg.Error as exc:
        log.warning("sender profiles not requested", mids=len(mids), error=repr(exc))
        return 0
    return len(requested)
