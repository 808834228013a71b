"""One reconciliation run for one account: ask the Conversations API which conversations
changed since the last completed run, read each one's messages, fetch those the service
does not have, and ingest them through the webhook's own path (`service.messages.ingestion`:
the same idempotency by mid, decision, DMs and Phase 3).

One run per account at a time across every process: a session advisory lock, which a
killed run's connection gives back. A run starts from where the last completed one
started (less `OVERLAP_SECONDS`), so a run killed half-way is done again by the next,
and what it stored is already there. What Meta can no longer give is counted as a gap
and logged with its conversation: more changed messages than the 20 its messages edge
lists, or a message it answers as deleted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import structlog

from service.core.db import Connection
from service.core.runtime import Runtime
from service.instagram import conversations_api as api
from service.messages.ingestion import ingest_events
from service.reconcile import walk
from service.reconcile.pace import PacedCalls
from service.reconcile.recovered import inbound_event
from service.store import reconcile_runs as store
from service.store.inbound_event import InboundEvent

log = structlog.get_logger("reconcile")

# The first run looks back this far: Meta retries a webhook delivery for about 36 hours.
FIRST_SINCE_SECONDS = 36 * 3600.0
# Each run reads again this much before the last one started: Meta's clock and ours differ.
OVERLAP_SECONDS = 300.0


@dataclasses.dataclass(frozen=True)
class RunResult:
    run_id: int
    account_id: str
    since: dt.datetime
    counts: store.Counts


@dataclasses.dataclass
class _Tally:
    conversations: int = 0
    messages_seen: int = 0
    already_stored: int = 0
    recovered: int = 0
    gaps: int = 0
    gap_conversations: list[str] = dataclasses.field(default_factory=list)

    def gap(self, conversation_id: str, n: int = 1) -> None:
        self.gaps += n
        if conversation_id not in self.gap_conversations:
            self.gap_conversations.append(conversation_id)


async def reconcile(
    rt: Runtime,
    account_id: str,
    *,
    trigger: str,
    since_seconds: float | None = None,
    wait: bool = False,
) -> RunResult | None:
    """Run once for the account, from `since_seconds` ago if given; None when another run
    holds the account and `wait` is off (with `wait`, after that run, this one)."""
    async with rt.pool.connection() as lock_conn:
        if not await store.lock(lock_conn, account_id, wait=wait):
            return None
        try:
            return await _run(rt, account_id, trigger, since_seconds)
        finally:
            await store.unlock(lock_conn, account_id)


async def _run(
    rt: Runtime, account_id: str, trigger: str, since_seconds: float | None
) -> RunResult:
    calls = PacedCalls(rt, account_id)
    s = rt.settings
    # The first page before the run is recorded: a refused token changes nothing.
    first = await calls.call(
        lambda token: api.conversations_page(rt.http, s.instagram_api_base_url, account_id, token)
    )
    async with rt.pool.connection() as conn:
        if since_seconds is None:
            since_seconds = await _since_last_completed(conn, account_id)
        run_id, since = await store.start(
            conn, account_id, trigger=trigger, since_seconds=since_seconds
        )
    tally = _Tally()

    async def fetch_page(after: str | None) -> api.ConversationsPage:
        if after is None:
            return first
        return await calls.call(
            lambda token: api.conversations_page(
                rt.http, s.instagram_api_base_url, account_id, token, after=after
            )
        )

    async for conversation in walk.changed_conversations(fetch_page, since):
        await _conversation(rt, calls, account_id, conversation.id, since, tally)
    counts = store.Counts(
        conversations=tally.conversations,
        messages_seen=tally.messages_seen,
        already_stored=tally.already_stored,
        recovered=tally.recovered,
        gaps=tally.gaps,
        calls=calls.calls,
        gap_conversations=tuple(tally.gap_conversations),
    )
    async with rt.pool.connection() as conn:
        await store.finish(conn, run_id, counts)
    return RunResult(run_id, account_id, since, counts)


async def _since_last_completed(conn: Connection, account_id: str) -> float:
    last = await store.last_completed(conn, account_id)
    if last.seconds_ago is None:
        return FIRST_SINCE_SECONDS
    return last.seconds_ago + OVERLAP_SECONDS


async def _conversation(
    rt: Runtime,
    calls: PacedCalls,
    account_id: str,
    conversation_id: str,
    since: dt.datetime,
    tally: _Tally,
) -> None:
    """Read one conversation's messages and recover those the service lacks."""
    base = rt.settings.instagram_api_base_url
    listed = await calls.call(
        lambda token: api.conversation_messages(rt.http, base, conversation_id, token)
    )
    async with rt.pool.connection() as conn:
        known = await store.known_mids(conn, [m.id for m in listed])
    tally.conversations += 1
    tally.messages_seen += len(listed)
    tally.already_stored += len(known)
    if walk.lost_beyond_cap(listed, known, since):
        tally.gap(conversation_id)
        log.warning(
            "reconcile gap: more messages changed than the conversation lists",
            account_id=account_id,
            conversation_id=conversation_id,
            listed=len(listed),
        )
    events: list[InboundEvent] = []
    for ref in walk.missing(listed, known):
        document = await calls.call(functools.partial(api.message, rt.http, base, ref.id))
        if document is None:
            tally.gap(conversation_id)
            log.warning(
                "reconcile gap: Meta answers the message as deleted",
                account_id=account_id,
                conversation_id=conversation_id,
                mid=ref.id,
            )
            continue
        try:
            events.append(inbound_event(document, account_id))
        except ValueError as exc:  # a message with no sender cannot be stored: lost too
            tally.gap(conversation_id)
            log.warning("reconcile gap: " + str(exc), conversation_id=conversation_id)
    if events:
        tally.recovered += sum(await ingest_events(rt, events))
