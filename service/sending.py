"""Sending one outbound DM through the Graph API, and recording what happened.

Retry policy (the spec's): the first call plus up to `send_max_retries` retries, waiting
1 s, 2 s, 4 s (doubling from `send_backoff_base_seconds`, capped at
`send_backoff_cap_seconds`), or longer when the Graph API asks with `Retry-After`. The
calls are counted from the DM's `retry_base`, so a DM that an operator re-queued gets the
same budget again while `attempts` keeps counting every call.
Transient errors raise `RetryLater`, which the worker turns into a job re-schedule, so a
wait never holds a worker slot. Permanent errors fail at once.
"""

from __future__ import annotations

import uuid

from service import dm_texts, metrics, tokens
from service.jobs import RetryLater, backoff_seconds
from service.instagram import (DeliveredWithError, GraphError, PermanentGraphError,
                               TransientGraphError)
from service.runtime import Runtime
from service.store import outbound
from service.store import tokens as token_store
from service.store.rows import OutboundMessage


def retry_delay(rt: Runtime, attempt: int, retry_after: float | None) -> float:
    """Wait before retry number `attempt` (1-based)."""
    backoff = backoff_seconds(attempt, base=rt.settings.send_backoff_base_seconds,
                              cap=rt.settings.send_backoff_cap_seconds)
    return max(backoff, retry_after or 0.0)


async def send_outbound(rt: Runtime, outbound_id: uuid.UUID) -> OutboundMessage | None:
    """Make one Graph API call for a pending DM; returns its row after, or None if gone."""
    async with rt.pool.connection() as conn:
        dm = await outbound.get(conn, outbound_id)
    if dm is None or dm.status != "pending":
        return dm
    text, patch = dm.payload["text"], {}
    if dm.kind == "verification" and dm.message_id is not None:
        minted = tokens.mint()
        async with rt.pool.connection() as conn:
            stored = await token_store.upsert_for_event(
                conn, token_hash=minted.hash, ig_id=dm.recipient_ig_id, event_id=dm.message_id,
                ttl_seconds=rt.settings.verification_token_ttl_seconds)
            if stored is None:
                return await outbound.record_attempt(
                    conn, dm.id, status="failed", calls=0,
                    error="the event's verification token was already used")
        text = dm_texts.verification(verify_url_base=rt.settings.verify_url_base,
                                     token=minted.plaintext, ig_id=dm.recipient_ig_id)
        patch = {"token_hash": minted.hash}
    return await call_and_record(rt, dm, text, patch)


async def call_and_record(rt: Runtime, dm: OutboundMessage, text: str,
                           patch: dict) -> OutboundMessage | None:
    attempt = dm.attempts - dm.retry_base + 1
    status, remote_id, error, retry = "sent", None, None, None
    try:
        with metrics.GRAPH_LATENCY.time():
            result = await rt.graph.send_text(dm.recipient_ig_id, text)
        remote_id = result.message_id
    except DeliveredWithError as exc:
        # Meta says it sent the DM despite the error: resending would duplicate it.
        error = describe(exc)
    except TransientGraphError as exc:
        error = describe(exc)
        if attempt > rt.settings.send_max_retries:
            status = "failed"
        else:
            status, retry = "pending", retry_delay(rt, attempt, exc.retry_after)
    except PermanentGraphError as exc:
        status, error = "failed", describe(exc)
    metrics.DMS.labels(dm.kind, metrics.DM_RESULTS[status]).inc()
    async with rt.pool.connection() as conn:
        row = await outbound.record_attempt(conn, dm.id, status=status, remote_message_id=remote_id,
                                            error=error, payload_patch=patch)
    if retry is not None:
        raise RetryLater(retry, error or "")
    return row


def describe(exc: GraphError) -> str:
    """The row's `error`: the error's kind and Meta's message with its codes."""
    return f"{type(exc).__name__}: {exc}"
