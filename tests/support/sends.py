"""Driving one DM's send in the test process, as the worker would, and reading its row
(the DM itself: `tests.support.seed.a_pending_dm`)."""

from __future__ import annotations

import asyncio
import uuid

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import sending


async def send_until_settled(settings: Settings, dm_id: uuid.UUID) -> list[float]:
    """Run the send as the worker would, sleeping each re-schedule; returns the waits."""
    waits = []
    async with open_runtime(settings) as rt:
        while True:
            try:
                await sending.send_outbound(rt, dm_id)
                return waits
            except sending.RetryLater as exc:
                waits.append(exc.delay_seconds)
                await asyncio.sleep(exc.delay_seconds)


def row(db, dm_id: uuid.UUID) -> dict:
    return db.execute(
        "SELECT status, attempts, error, sending_attempt_id FROM outbound_messages WHERE id = %s",
        (dm_id,),
    ).fetchone()
