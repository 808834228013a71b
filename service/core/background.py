"""Work that a job starts and leaves running when it returns, so that its slot is free for
the next job: a batch's sends waiting for their turns (`service.dms.batch_sending`).

Nothing here is durable. Whatever such work holds must be found again if the process dies
(a pending DM whose turn has passed is queued again by the rescue, `service.dms.orphans`),
and the worker waits for it before it stops (`finish`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

from service.core.db import is_database_unavailable

log = structlog.get_logger("background")

_running: set[asyncio.Task[None]] = set()


def start(work: Coroutine[Any, Any, None], *, what: str) -> None:
    """Run `work` beside the jobs; a failure is logged, as a job's would be."""
    task = asyncio.get_running_loop().create_task(_logged(work, what))
    _running.add(task)
    task.add_done_callback(_running.discard)


async def finish(timeout: float) -> None:
    """Wait up to `timeout` seconds for the work still running, then cancel the rest."""
    if not _running:
        return
    _, pending = await asyncio.wait(set(_running), timeout=timeout)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)


async def _logged(work: Coroutine[Any, Any, None], what: str) -> None:
    try:
        await work
    except asyncio.CancelledError:
        log.warning("background work cancelled", what=what)
        raise
    except Exception as exc:
        if is_database_unavailable(exc):
            log.warning("background work stopped: the database was lost", what=what)
        else:
            log.exception("background work failed", what=what)
