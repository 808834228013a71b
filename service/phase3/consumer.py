"""The reference Phase 3 consumer (`ingest phase3`): claim, log, complete.

It is the seam where Phase 3 plugs in: replace `handle` with the real work. It wakes on
the queue's NOTIFY and also polls, so a missed notification only delays a row.
"""

from __future__ import annotations

import os
import socket

import psycopg
import structlog

from service.core.backoff import backoff_seconds
from service.core.db import Pool, make_pool
from service.core.settings import Settings
from service.store import phase3_queue
from service.store.rows import Phase3Item

log = structlog.get_logger("phase3")
VISIBILITY_SECONDS = 300
BATCH = 50
POLL_SECONDS = 5.0
# A failing row is claimed again after 5 s, 10 s, 20 s, 40 s, then fails for good.
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 600.0


async def handle(item: Phase3Item) -> None:
    log.info(
        "phase3 item",
        message_id=item.message_id,
        ig_id=item.ig_id,
        connected_user_id=str(item.connected_user_id),
        attempts=item.attempts,
    )


async def drain(pool: Pool, consumer: str) -> int:
    """Claim and handle batches until none is left; returns how many were completed."""
    done = 0
    while True:
        async with pool.connection() as conn:
            items = await phase3_queue.claim(
                conn, consumer=consumer, limit=BATCH, visibility_seconds=VISIBILITY_SECONDS
            )
        if not items:
            return done
        for item in items:
            try:
                await handle(item)
            except Exception as exc:  # a failing item goes back with backoff, not lost
                log.exception("phase3 item failed", message_id=item.message_id)
                async with pool.connection() as conn:
                    await phase3_queue.fail(
                        conn,
                        item_id=item.id,
                        consumer=consumer,
                        error=repr(exc),
                        # The claim counted this attempt: the first failure waits the base.
                        retry_in_seconds=backoff_seconds(
                            item.attempts, base=BACKOFF_BASE_SECONDS, cap=BACKOFF_CAP_SECONDS
                        ),
                        max_attempts=MAX_ATTEMPTS,
                    )
                continue
            async with pool.connection() as conn:
                done += await phase3_queue.complete(conn, item_id=item.id, consumer=consumer)


async def run(settings: Settings, *, once: bool = False) -> None:
    consumer = f"{socket.gethostname()}:{os.getpid()}"
    async with make_pool(settings, min_size=1, max_size=2) as pool:
        if once:
            log.info("phase3 drained", completed=await drain(pool, consumer))
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
