"""How long stored deliveries are kept: forwarded ones go after `webhook_retention_days`.

Deliveries that were never forwarded (still retrying, or failed) stay until an operator
replays them: deleting those would lose events.
"""

from __future__ import annotations

from service.runtime import Runtime
from service.store import webhook_deliveries


async def purge_forwarded_deliveries(rt: Runtime) -> int:
    """Delete forwarded deliveries past the retention; returns how many (0 keeps all)."""
    days = rt.settings.webhook_retention_days
    if days <= 0:
        return 0
    async with rt.pool.connection() as conn:
        return await webhook_deliveries.purge_forwarded(conn, retention_days=days)
