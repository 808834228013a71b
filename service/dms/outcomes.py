"""What one Graph API call came to, as one value: the answer or the error, classified.

`outcome_of` is the only place that reads a send's answer: the DM's next status, the
error to record, how long to wait before the next call, and whether the whole account
waits too (a rate limit, a refused access token). Recording the outcome
(`service.dms.attempts`) and acting on it (`service.dms.sending`) read only this value.
"""

from __future__ import annotations

import dataclasses

from service.core.backoff import backoff_seconds
from service.core.settings import Settings
from service.instagram import (
    DeliveredWithError,
    GraphError,
    InvalidAccessTokenError,
    RateLimitedError,
    SendResult,
    TransientGraphError,
)
from service.store.rows import DMStatus


@dataclasses.dataclass(frozen=True)
class Outcome:
    """`status`: the DM's status after the call (`sent`, `pending` to call again after
    `retry_seconds`, or `failed`). `holds_account`: a rate limit, which holds every send of
    the account for `retry_seconds`. `refused_token`: the access token was refused; the
    account's sends wait for another one, and this call is not counted against the DM."""

    status: DMStatus
    error: str | None = None
    remote_message_id: str | None = None
    retry_seconds: float = 0.0
    holds_account: bool = False
    refused_token: InvalidAccessTokenError | None = None


def outcome_of(settings: Settings, calls: int, answer: SendResult | GraphError) -> Outcome:
    """The outcome of call number `calls` (counted since the DM was last queued)."""
    if isinstance(answer, SendResult):
        return Outcome(DMStatus.SENT, remote_message_id=answer.message_id)
    error = describe(answer)
    if isinstance(answer, DeliveredWithError):
        # Meta says it sent the DM despite the error: resending would duplicate it.
        return Outcome(DMStatus.SENT, error=error)
    if isinstance(answer, TransientGraphError):
        retry = retry_delay(settings, calls, answer.retry_after)
        status = DMStatus.FAILED if calls > settings.send_max_retries else DMStatus.PENDING
        limited = isinstance(answer, RateLimitedError)
        return Outcome(status, error, retry_seconds=retry, holds_account=limited)
    if isinstance(answer, InvalidAccessTokenError) and answer.token_digest is not None:
        # Not this DM's fault: the account waits for a new token, and this DM gets its
        # attempt back. (A token without a digest is one no one can replace without a
        # restart: the DM fails.)
        recheck = settings.token_hold_recheck_seconds
        return Outcome(DMStatus.PENDING, error, retry_seconds=recheck, refused_token=answer)
    return Outcome(DMStatus.FAILED, error)


def retry_delay(settings: Settings, attempt: int, retry_after: float | None) -> float:
    """Wait before retry number `attempt` (1-based)."""
    backoff = backoff_seconds(
        attempt, base=settings.send_backoff_base_seconds, cap=settings.send_backoff_cap_seconds
    )
    return max(backoff, retry_after or 0.0)


def describe(exc: GraphError) -> str:
    """The row's `error`: the error's kind and Meta's message with its codes."""
    return f"{type(exc).__name__}: {exc}"
