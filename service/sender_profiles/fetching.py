"""The `fetch_sender_profiles` job: ask Meta for the profiles an account's senders' messages
asked for (`requesting`), one after another, and record each answer.

    GET /{IGSID}?fields=name,username,profile_pic,is_verified_user,follower_count,
                        is_user_follow_business,is_business_follow_user

Paced by the account's read bucket (`GRAPH_READ_RATE`), never a send's. The answer comes to
one outcome (`outcome_of`), which `record` stores and the job's log line names:
- a profile: stored, as of now;
- error 230 (the user has not consented, i.e. not written to the account) or any other
  permanent refusal (an unavailable or unknown user): recorded as such, and asked again only
  once PROFILE_REFRESH_SECONDS have passed, never in a loop;
- error 190 (the token is refused): the token is marked invalid, which holds the account's
  sends as a send's 190 does, and the fetch waits like a held send;
- a transient failure or a rate limit: nothing recorded; the sender's next message asks again.

A fetch that must wait (its read's turn, a refused token) queues the account's job again for
then, which takes the same sender up: one job per account, waking once per turn.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import functools
from typing import Any

from service.business_account import access_token, pacing
from service.business_account.accounts import account_of, environment_account
from service.core import jobs
from service.core.jobs import RetryLater
from service.core.runtime import Runtime
from service.dms.sending import TokenHeld
from service.instagram import GraphError, InvalidAccessTokenError, PermanentGraphError
from service.store import instagram_profiles
from service.store.rows import SenderProfile

FIELDS = (
    "name,username,profile_pic,is_verified_user,follower_count,"
    "is_user_follow_business,is_business_follow_user"
)
CONSENT_REQUIRED_CODE = 230


class Outcome(enum.StrEnum):
    FETCHED = "fetched"
    CONSENT_REQUIRED = "consent_required"
    UNAVAILABLE = "unavailable"
    NOT_DUE = "not_due"  # answered meanwhile, by another job
    FAILED = "failed"  # transient: asked again at the sender's next message


@dataclasses.dataclass(frozen=True)
class Fetched:
    outcome: Outcome
    profile: SenderProfile | None = None
    error: str | None = None


# Fetches one run makes at most before it queues the account's job again, so that a long
# list never holds a worker slot for long.
FETCHES_PER_RUN = 50


async def fetch_requested(rt: Runtime, account: str) -> collections.Counter[str]:
    """Fetch the account's requested profiles, oldest request first. A read that must wait
    (its turn under the pace, a refused token) queues the account's job again for then and
    ends this one: a job waiting in line is never re-scheduled, which the queueing lock of
    a job queued meanwhile would refuse. The outcomes."""
    s, outcomes = rt.settings, collections.Counter[str]()
    for _ in range(FETCHES_PER_RUN):
        async with rt.pool.connection() as conn:
            ig_id = await instagram_profiles.next_requested(
                conn, account, fallback=account == environment_account(s)
            )
        if ig_id is None:
            return outcomes
        try:
            fetched = await fetch_sender_profile(rt, ig_id)
        except RetryLater as wait:
            await jobs.defer_fetch_sender_profiles(
                rt.jobs, account, delay_seconds=wait.delay_seconds
            )
            outcomes["waiting"] += 1
            return outcomes
        if fetched.outcome in (Outcome.NOT_DUE, Outcome.FAILED):
            async with rt.pool.connection() as conn:
                await instagram_profiles.forget_request(conn, ig_id)
        outcomes[fetched.outcome.value] += 1
    await jobs.defer_fetch_sender_profiles(rt.jobs, account)
    return outcomes


async def fetch_sender_profile(rt: Runtime, ig_id: str) -> Fetched:
    """One attempt; raises `ReadPaced` while the read waits its turn, `TokenHeld` while
    the account's token is refused."""
    s = rt.settings
    async with rt.pool.connection() as conn:
        due = await instagram_profiles.fetch_due(
            conn, ig_id, refresh_seconds=s.profile_refresh_seconds
        )
    if due is None:
        return Fetched(Outcome.NOT_DUE)
    # An IGSID is the account's own: asked with the token of the account it wrote to.
    account = account_of(s, due.account_ig_id)
    await _hold_if_token_refused(rt, account)
    await pacing.take_read_turn(rt, account)
    try:
        answer: dict[str, Any] | GraphError = await rt.accounts.graph(account).read(ig_id, FIELDS)
    except GraphError as exc:
        answer = exc
    fetched = outcome_of(answer)
    await record(rt, ig_id, account, fetched, answer)
    return fetched


def outcome_of(answer: dict[str, Any] | GraphError) -> Fetched:
    """What Meta's answer (the profile's object, or the error it came to) amounts to."""
    if isinstance(answer, dict):
        return Fetched(Outcome.FETCHED, profile=profile_of(answer))
    if isinstance(answer, InvalidAccessTokenError):
        return Fetched(Outcome.FAILED, error=str(answer))
    if isinstance(answer, PermanentGraphError):
        consent = answer.code == CONSENT_REQUIRED_CODE
        outcome = Outcome.CONSENT_REQUIRED if consent else Outcome.UNAVAILABLE
        return Fetched(outcome, error=str(answer))
    return Fetched(Outcome.FAILED, error=str(answer))


def profile_of(document: dict[str, Any]) -> SenderProfile:
    """Meta's fields under our names; a field missing or of another type is None."""
    typed = functools.partial(_typed, document)
    return SenderProfile(
        display_name=typed("name", str),
        username=typed("username", str),
        profile_pic_url=typed("profile_pic", str),
        is_verified_user=typed("is_verified_user", bool),
        follower_count=typed("follower_count", int),
        is_user_follow_business=typed("is_user_follow_business", bool),
        is_business_follow_user=typed("is_business_follow_user", bool),
    )


def _typed(document: dict[str, Any], name: str, kind: type) -> Any:
    value = document.get(name)
    if kind is int and isinstance(value, bool):  # a bool is an int to Python, not to Meta
        return None
    return value if isinstance(value, kind) else None


async def record(
    rt: Runtime, ig_id: str, account: str, fetched: Fetched, answer: dict[str, Any] | GraphError
) -> None:
    """Store the outcome; a refused token holds the account's sends, and this job."""
    if isinstance(answer, InvalidAccessTokenError):
        await access_token.mark_invalid(rt.pool, account, answer)
        raise TokenHeld(rt.settings.token_hold_recheck_seconds, "the access token was refused")
    async with rt.pool.connection() as conn:
        if fetched.profile is not None:
            await instagram_profiles.record_fetched(conn, ig_id, fetched.profile)
        elif fetched.outcome in (Outcome.CONSENT_REQUIRED, Outcome.UNAVAILABLE):
            await instagram_profiles.record_refused(conn, ig_id, fetched.outcome.value)


async def _hold_if_token_refused(rt: Runtime, account: str) -> None:
    """While the account's stored token is marked refused, no call: wait as a held send
    does."""
    stored = await access_token.get(rt.pool, account)
    if stored is not None and stored.invalid_at is not None:
        raise TokenHeld(rt.settings.token_hold_recheck_seconds, "the access token is refused")
