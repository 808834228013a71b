"""The status report's checks, by name, collected as `ingest status` collects them."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from service.operations import status
from service.operations.thresholds import Thresholds


async def checks(env: dict[str, str], **collect) -> dict[str, dict]:
    async with await psycopg.AsyncConnection.connect(
        env["DATABASE_URL"], row_factory=dict_row, autocommit=True
    ) as conn:
        report = await status.collect(conn, Thresholds(), statement_timeout=30, **collect)
    return {check["name"]: check for check in report["checks"]}
