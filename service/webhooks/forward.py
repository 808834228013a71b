"""The `forward_delivery` job: parse a stored delivery and post its messages to the
internal ingest endpoint, so every message comes in one way (webhook -> ingest-event).
A delivery's messages go in one request, to its batch form `ingest-events`; unsends
(`is_deleted`) go with them; edits go to `ingest-edit`. Both are siblings of
INTERNAL_INGEST_URL (the same URL with that last segment), so it stays the one setting. A
batch the endpoint refuses (one message of it, or its size; or a web process that does not
know the batch form yet) is posted again one message at a time, which names each refusal
and stores the others.

Every post is safe to repeat: the endpoint is idempotent by `mid`. So a failed attempt is
simply run again in full, later (`RetryLater`, with backoff), until it succeeds or the
retries run out; the delivery row records each attempt's outcome. An endpoint that refuses
the worker itself (401, 403, 404: a wrong INTERNAL_SERVICE_TOKEN or INTERNAL_INGEST_URL) is
a configuration error, retried like an outage and named in the delivery's error, which the
status checks show; only a refusal of the message (another 4xx) fails the delivery at once.

Standby messages (another app controlled the conversation, Meta's handover protocol) are
forwarded with `source: "standby"`: the service records them and never answers them, as
that app answers. What is not forwarded (the raw delivery keeps it, and the job's log line
counts it):
- unsupported messages (`is_unsupported`, e.g. GIFs and stickers): Meta gives no content
  to save, and acknowledging what we cannot read would mislead the user;
- reactions, reads, postbacks without a mid, referrals and unknown events: never answered.
  (A postback with one, an ice breaker or a button tap, is a message.) A read is recorded
  on our DMs to its reader (`service.webhooks.read_receipts`).

Of those, the events that open Meta's messaging window (an unsupported message, a
referral, a postback without a mid) are still noted on their sender's profile here
(`last_inbound_at`), since no message carries them to the ingest endpoint.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt

import httpx
import msgspec

from service.business_account.runtime import open_runtime
from service.core.backoff import backoff_seconds
from service.core.jobs import RetryLater
from service.core.runtime import Runtime
from service.core.settings import WORKER_SETTINGS, Settings
from service.store import instagram_profiles, webhook_deliveries
from service.store.rows import WebhookDelivery
from service.webhooks import read_receipts
from service.webhooks.events import InboundEdit, InboundMessage, ParsedDelivery
from service.webhooks.parse import parse_delivery

_MAX_REFUSALS_SHOWN = 5
_JSON = msgspec.json.Encoder()
# Resolved against INTERNAL_INGEST_URL (`.../api/internal/ingest-event`).
EDIT_ENDPOINT = "ingest-edit"
BATCH_ENDPOINT = "ingest-events"
# The events besides messages that open the messaging window (not reads or reactions).
_WINDOW_OPENING_KINDS = ("postback", "referral")


class _IngestUnavailable(Exception):
    """The endpoint could not take the message now (network, 5xx, 429): try again."""


class _IngestMisconfigured(_IngestUnavailable):
    """The endpoint refused the worker itself (401, 403, 404): the worker's settings are
    wrong, not the message. Retried like an outage, so a fix of the settings (and a restart)
    forwards it, instead of the delivery failing at once."""


# What each answer says is wrong, when it is the worker's configuration.
_MISCONFIGURED = {
    401: "check INTERNAL_SERVICE_TOKEN: web does not take the worker's token",
    403: "check INTERNAL_SERVICE_TOKEN: web does not take the worker's token",
    404: "check INTERNAL_INGEST_URL: it is not web's /api/internal/ingest-event",
}


class _IngestRefused(Exception):
    """The endpoint refused the message (4xx): the same post would be refused again."""


@dataclasses.dataclass(frozen=True)
class ForwardResult:
    delivery: WebhookDelivery
    held_back: dict[str, int]  # messages not forwarded, by reason
    other_events: dict[str, int]  # non-message events, by kind
    warnings: tuple[str, ...]


async def forward_delivery(
    rt: Runtime, delivery_id: int, *, retry: bool = True
) -> ForwardResult | None:
    """One attempt; None if the delivery is gone. Raises `RetryLater` while retries remain
    (`retry=False`, for a replay, records the failure instead)."""
    async with rt.pool.connection() as conn:
        delivery = await webhook_deliveries.get(conn, delivery_id)
    if delivery is None:
        return None
    parsed = parse_delivery(delivery.body, received_ms=int(delivery.received_at.timestamp() * 1000))
    held_back = collections.Counter(
        reason for reason in map(_held_back_because, parsed.messages) if reason
    )
    if opened := _windows_opened_unforwarded(parsed):
        async with rt.pool.connection() as conn, conn.transaction():
            for ig_id, at in sorted(opened.items()):
                await instagram_profiles.record_inbound(conn, ig_id, at)
    if read_receipts.receipts(parsed):
        async with rt.pool.connection() as conn, conn.transaction():
            await read_receipts.record(conn, parsed)
    posted = await _post_events(rt, parsed)
    # Counted from `retry_base`: a delivery an operator re-queued has the full budget again.
    tried = delivery.attempts - delivery.retry_base
    retries_left = retry and tried < rt.settings.forward_max_retries
    status, error = posted.settled(retries_left)
    async with rt.pool.connection() as conn:
        recorded = await webhook_deliveries.record_attempt(
            conn, delivery_id, status=status, messages_forwarded=posted.forwarded, last_error=error
        )
    if posted.unavailable and retries_left:
        raise RetryLater(
            backoff_seconds(
                tried + 1,
                base=rt.settings.forward_backoff_base_seconds,
                cap=rt.settings.forward_backoff_cap_seconds,
            ),
            posted.unavailable,
        )
    return ForwardResult(
        delivery=recorded or delivery,
        held_back=dict(held_back),
        other_events=dict(collections.Counter(e.kind for e in parsed.other_events)),
        warnings=parsed.warnings,
    )


@dataclasses.dataclass
class _Posted:
    """What one attempt's posts came to: messages and edits forwarded, the refusals (each
    naming its mid), and the outage that stopped the attempt, if one did."""

    forwarded: int = 0
    refused: list[str] = dataclasses.field(default_factory=list)
    unavailable: str | None = None

    def settled(self, retries_left: bool) -> tuple[str, str | None]:
        """The delivery's status and error after this attempt."""
        if self.unavailable:
            return ("received" if retries_left else "failed"), self.unavailable
        if self.refused:
            shown = "; ".join(self.refused[:_MAX_REFUSALS_SHOWN])
            return "failed", f"{len(self.refused)} refused: {shown}"
        return "forwarded", None


async def _post_events(rt: Runtime, parsed: ParsedDelivery) -> _Posted:
    """Post the delivery's messages as one batch, then, if the batch did not go, one at a
    time, then its edits; stop at the first outage."""
    # The parser refuses what the endpoint would (one set of rules): recorded the same way.
    posted = _Posted(refused=list(parsed.refused))
    messages = [message for message in parsed.messages if not _held_back_because(message)]
    try:
        if messages and _names_ingest_event(rt.settings) and await _post_batch(rt, messages):
            posted.forwarded, messages = len(messages), []
    except _IngestUnavailable as exc:
        posted.unavailable = str(exc)
    # A batch refused (one message of it, or its size) is posted one message at a time, so
    # that each refusal is named and the others are stored. Edits after the messages: an
    # edit in the same delivery as its message finds it stored.
    events: list[InboundMessage | InboundEdit] = [*messages, *parsed.edits]
    while events and posted.unavailable is None:
        event = events.pop(0)
        try:
            await _post(rt, event)
            posted.forwarded += 1
        except _IngestRefused as exc:
            posted.refused.append(f"{event.mid[:80]}: refused by the ingest endpoint, {exc}")
        except _IngestUnavailable as exc:
            posted.unavailable = str(exc)
    return posted


def _held_back_because(message: InboundMessage) -> str | None:
    # An unsupported unsend (if Meta sends one) is still an unsend.
    if message.is_unsupported and not message.is_deleted:
        return "unsupported"
    return None


def _windows_opened_unforwarded(parsed: ParsedDelivery) -> dict[str, dt.datetime]:
    """The senders whose window an event not forwarded opened, with its latest time."""
    events: list[tuple[str | None, object]] = [
        (message.sender_ig_id, message.timestamp)
        for message in parsed.messages
        if _held_back_because(message) and not message.is_echo
    ]
    events += [
        (event.sender_id, event.timestamp_ms)
        for event in parsed.other_events
        if event.kind in _WINDOW_OPENING_KINDS and event.sender_id != event.recipient_id
    ]
    latest: dict[str, int] = {}
    for sender, timestamp_ms in events:
        if sender is not None and isinstance(timestamp_ms, int):
            latest[sender] = max(timestamp_ms, latest.get(sender, timestamp_ms))
    return {sender: dt.datetime.fromtimestamp(ms / 1000, dt.UTC) for sender, ms in latest.items()}


def _names_ingest_event(settings: Settings) -> bool:
    """Whether INTERNAL_INGEST_URL names `ingest-event`, beside which its batch form sits;
    when it names another path, each message is posted to it, and a wrong path is found."""
    try:
        return httpx.URL(settings.internal_ingest_url or "").path.endswith("/ingest-event")
    except httpx.InvalidURL:
        return False


async def _post_batch(rt: Runtime, messages: list[InboundMessage]) -> bool:
    """Post the messages in one request (`ingest-events`); False when it was refused, for
    whatever reason: then each is posted alone, which names the reason."""
    try:
        await _post_json(
            rt, BATCH_ENDPOINT, {"events": [message.to_ingest_body() for message in messages]}
        )
    except (_IngestRefused, _IngestMisconfigured):
        return False
    return True


async def _post(rt: Runtime, event: InboundMessage | InboundEdit) -> None:
    endpoint = EDIT_ENDPOINT if isinstance(event, InboundEdit) else None
    await _post_json(rt, endpoint, event.to_ingest_body())


async def _post_json(rt: Runtime, endpoint: str | None, body: object) -> None:
    """Post to INTERNAL_INGEST_URL, or to its sibling `endpoint`."""
    url = rt.settings.internal_ingest_url
    if not url:  # required by the processes that forward (WORKER_SETTINGS)
        raise _IngestMisconfigured("configuration error: INTERNAL_INGEST_URL is unset")
    try:
        if endpoint is not None:
            url = str(httpx.URL(url).join(endpoint))
        response = await rt.http.post(
            url,
            content=_JSON.encode(body),
            headers={
                "content-type": "application/json",
                "x-service-token": rt.settings.internal_service_token or "",
            },
        )
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise _IngestUnavailable(f"{type(exc).__name__}: {str(exc) or 'no detail'}") from exc
    if response.is_success:
        return
    detail = f"HTTP {response.status_code} {response.text[:200]}"
    if response.status_code in _MISCONFIGURED:
        raise _IngestMisconfigured(
            f"configuration error: HTTP {response.status_code} from the ingest endpoint"
            f" ({_MISCONFIGURED[response.status_code]}): {response.text[:200]}"
        )
    if response.status_code in (408, 429) or response.status_code >= 500:
        raise _IngestUnavailable(f"ingest endpoint: {detail}")
    raise _IngestRefused(detail)


async def replay_delivery(settings: Settings, delivery_id: int) -> ForwardResult | None:
    """Run a stored delivery again, once, now (`ingest replay-delivery`)."""
    settings.require(*WORKER_SETTINGS)
    async with open_runtime(settings, pool_max_size=2) as rt:
        return await forward_delivery(rt, delivery_id, retry=False)
