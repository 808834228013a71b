"""Accepting a webhook delivery: check its signature, then store it as received and defer
`forward_delivery`, in one transaction.

Nothing here reads the events: parsing and forwarding happen in the job, so the answer to
Meta is quick and our own downstream trouble never becomes a non-200 that, after about an
hour, makes Meta disable the webhook. Only malformed JSON is refused (400): no retry could
fix it. The same bytes posted again within 24 hours are answered 200 and stored once. A
body is kept as Postgres' jsonb; JSON text that jsonb cannot hold (`\\u0000`) is stored
with U+FFFD in place of each NUL character, the one change ever made to a body.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec
import structlog

from service.core import jobs
from service.core.errors import MalformedRequest, Unauthenticated
from service.core.runtime import Runtime
from service.core.settings import Settings
from service.store import webhook_deliveries
from service.webhooks.signatures import verify_signature

log = structlog.get_logger("webhooks")


# The same bytes posted again within this long are the delivery already stored.
REPLAY_WINDOW_SECONDS = 24 * 3600


async def accept_delivery(rt: Runtime, body: bytes, signature: str | None) -> tuple[int, bool]:
    """Store a verified delivery and defer its forwarding; returns the delivery's id and
    whether it is new: the same bytes posted again within `REPLAY_WINDOW_SECONDS` (a
    captured delivery replayed, a retry of one we answered) are the stored delivery."""
    signed = _check_signature(rt.settings, body, signature)
    text, payload = _decode(body)
    async with rt.pool.connection() as conn, conn.transaction():
        delivery_id, new = await webhook_deliveries.insert_once(
            conn,
            body=_storable(text, payload),
            signed=signed,
            body_sha256=hashlib.sha256(body).digest(),
            window_seconds=REPLAY_WINDOW_SECONDS,
        )
        if new:
            await jobs.defer_forward_delivery(rt.jobs, conn, delivery_id)
    if not new:
        log.info("webhook delivery already stored", delivery_id=delivery_id)
    return delivery_id, new


def _check_signature(settings: Settings, body: bytes, signature: str | None) -> bool:
    """True when verified; False for an unsigned post that development mode allows."""
    if settings.instagram_app_secret:
        verify_signature(settings.instagram_app_secret, body, signature)
        return True
    if not settings.webhook_allow_unsigned:
        raise Unauthenticated("webhook signatures cannot be checked: no app secret is set")
    log.warning(
        "UNSIGNED webhook delivery accepted: INSTAGRAM_APP_SECRET is unset and "
        "WEBHOOK_ALLOW_UNSIGNED is on (development only)"
    )
    return False


def _decode(body: bytes) -> tuple[str, Any]:
    try:
        text = body.decode("utf-8")
        return text, msgspec.json.decode(text)
    except (UnicodeDecodeError, msgspec.DecodeError) as exc:
        raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedRequest("the body is not valid JSON: nested too deeply") from None


def _storable(text: str, payload: Any) -> str:
    if "\\u0000" not in text:
        return text
    return msgspec.json.encode(_without_nul(payload)).decode()


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value
