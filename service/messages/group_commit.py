"""Group commit in the web process: `ingest-event` requests that arrive while a statement is
storing others share the next one (one multi-row insert, one batch defer, one commit, in
`service.messages.ingestion.ingest_events`), and each is answered only once the statement
that stored its event has committed. Under load a statement carries as many events as came
in during the one before; alone, an event waits for no one.

A group that fails is stored again one statement per event, so one bad row never refuses
the others: each request gets the answer its event would have had alone. Only an
unreachable database fails the whole group at once, as it would fail each of its events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import psycopg

from service.core.runtime import Runtime
from service.messages import ingestion
from service.store.inbound_event import InboundEvent

# Events in one statement at most: a burst larger than this goes in several.
MAX_GROUP = 200
# Statements in flight at once per process: one fills while the other commits.
IN_FLIGHT = 2

_Waiting = tuple[InboundEvent, "asyncio.Future[bool]"]


class IngestGroups:
    """One per web process (`service.http.app`): `await groups.ingest(event)`."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self._waiting: list[_Waiting] = []
        self._flushing = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def ingest(self, event: InboundEvent) -> bool:
        """`ingestion.ingest_event`, in a group; True when new."""
        if event.is_deleted:  # an unsend has its own transaction
            return await ingestion.ingest_event(self._rt, event)
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, future))
        if self._flushing < IN_FLIGHT:
            self._flushing += 1
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                await self._store(group)
        finally:
            self._flushing -= 1

    async def _store(self, group: list[_Waiting]) -> None:
        try:
            news = await ingestion.ingest_events(self._rt, [event for event, _ in group])
        except psycopg.OperationalError as exc:  # the database, not a row: each would fail
            _answer(group, [exc] * len(group))
            return
        except Exception as exc:
            if len(group) == 1:
                _answer(group, [exc])
                return
            alone = [ingestion.ingest_event(self._rt, event) for event, _ in group]
            _answer(group, await asyncio.gather(*alone, return_exceptions=True))
            return
        _answer(group, news)


def _answer(group: list[_Waiting], outcomes: Sequence[bool | BaseException]) -> None:
    for (_, future), outcome in zip(group, outcomes, strict=True):
        if future.done():  # its request was cancelled (the client went away)
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
