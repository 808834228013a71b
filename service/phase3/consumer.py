"""The reference Phase 3 consumer (`ingest phase3`): claim, extend while working, complete
or fail, through the contract's database functions (`phase3_claim_v1` and its kin, called
by `service.store.phase3_queue`); the example of the contract in docs/phase3.md.

It is the seam where Phase 3 plugs in: replace `save` (a message to save) and `forget` (a
deletion notice: the message was unsent, so undo what `save` did) with the real work. It wakes on
the queue's NOTIFY and also polls, so a missed notification only delays a row.

Leases are per item: the consumer claims one row at a time, and renews that row's lease
every third of `VISIBILITY_SECONDS` while `handle` runs. Claiming one at a time means no
row waits leased in a local batch, where its lease would run out unseen and another
consumer would take it while this one still meant to; renewing means an item may take
longer than the lease, so the lease can be short and a dead consumer's item is claimed
again within `VISIBILITY_SECONDS`. A claim that is lost all the same (the process stalled
past its lease, and another consumer claimed the row) stops `handle` and records nothing:
the row is the other consumer's now.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket

import psycopg
import structlog

from service.core.backoff import backoff_seconds
from service.core.db import Pool, make_pool
from service.core.settings import Settings
from service.store import phase3_queue
from service.store.rows import Phase3Item

log = structlog.get_logger("phase3")
# The lease of the item in hand, renewed every third of it while the item is worked on.
VISIBILITY_SECONDS = 30.0
POLL_SECONDS = 5.0
# A failing row is claimed again after 5 s, 10 s, 20 s, 40 s, then fails for good; so does a
# row whose every claim ended without an outcome (its consumer died or hung on it).
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 600.0


def consumer_id() -> str:
    """This consumer's name in `claimed_by`: host and pid say where it runs, and a random
    suffix keeps it unique where those repeat (every container's process is PID 1)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


async def handle(item: Phase3Item) -> None:
    """One claimed row, by its kind; both kinds are idempotent by `message_id`."""
    if item.kind == "deletion":
        await forget(item)
    else:
        await save(item)


async def save(item: Phase3Item) -> None:
    """The message to save: what it shared is `item.shared_items` (docs/phase3.md)."""
    shared = [entry["kind"] for entry in item.shared_items]
    log.info("phase3 item", kind=item.kind, attempts=item.attempts, shared=shared, **_names(item))


async def forget(item: Phase3Item) -> None:
    """The message was unsent after a consumer may have saved it: remove what was saved.
    Its text and attachments are already gone from `messages`."""
    log.info("phase3 deletion", kind=item.kind, attempts=item.attempts, **_names(item))


def _names(item: Phase3Item) -> dict[str, str]:
    return {
        "message_id": item.message_id,
        "ig_id": item.ig_id,
        "connected_user_id": str(item.connected_user_id),
    }


async def drain(pool: Pool, consumer: str) -> int:
    """Claim and work items one at a time until none is left; returns how many were
    completed."""
    done = 0
    while True:
        async with pool.connection() as conn:
            items = await phase3_queue.claim(
                conn,
                consumer=consumer,
                limit=1,
                visibility_seconds=VISIBILITY_SECONDS,
                max_attempts=MAX_ATTEMPTS,
            )
        if not items:
            return done
        done += await work(pool, items[0])


async def work(pool: Pool, item: Phase3Item) -> bool:
    """Run `handle` on a claimed item under its lease, renewed until `handle` returns, then
    record the outcome; returns whether the item was completed by this claim."""
    task = asyncio.create_task(handle(item))
    try:
        while True:
            await asyncio.wait({task}, timeout=VISIBILITY_SECONDS / 3)
            if task.done():
                break
            async with pool.connection() as conn:
                kept = await phase3_queue.extend(
                    conn,
                    item_id=item.id,
                    claim_token=item.claim_token,
                    visibility_seconds=VISIBILITY_SECONDS,
                )
            if not kept:
                log.warning("phase3 claim lost; item abandoned", message_id=item.message_id)
                return False
    finally:
        if not task.done():  # the claim was lost, or renewing it raised: stop the work
            task.cancel()
            await asyncio.wait({task})
    try:
        task.result()
    except Exception as exc:  # a failing item goes back with backoff, not lost
        log.exception("phase3 item failed", message_id=item.message_id)
        async with pool.connection() as conn:
            status = await phase3_queue.fail(
                conn,
                item_id=item.id,
                claim_token=item.claim_token,
                error=repr(exc),
                # The claim counted this attempt: the first failure waits the base.
                retry_in_seconds=backoff_seconds(
                    item.attempts, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS
                ),
                max_attempts=MAX_ATTEMPTS,
            )
        if status is None:
            log.warning("phase3 claim lost; failure not recorded", message_id=item.message_id)
        return False
    async with pool.connection() as conn:
        completed = await phase3_queue.complete(conn, item_id=item.id, claim_token=item.claim_token)
    if not completed:
        log.warning("phase3 claim lost; completion not recorded", message_id=item.message_id)
    return completed


async def run(settings: Settings, *, once: bool = False) -> None:
    consumer = consumer_id()
    async with make_pool(settings, min_size=1, max_size=2) as pool:
        if once:
            log.info("phase3 drained", consumer=consumer, completed=await drain(pool, consumer))
            return
        listener = await psycopg.AsyncConnection.connect(settings.database_url, autocommit=True)
        async with listener:
            await phase3_queue.listen(listener)
            log.info("phase3 consumer started", consumer=consumer)
            while True:
                await drain(pool, consumer)
                # A lost listener connection raises: the process exits non-zero and its
                # supervisor restarts it, rather than idling silently.
                async for _ in listener.notifies(timeout=POLL_SECONDS, stop_after=1):
                    pass
