"""The operator console's queries (`sql/queries/console.sql`), named `console_<what>`.

Like the status report's, they are pages' reports: their rows stay dicts, with the columns
the SQL selects. None selects a message's text or attachments but `message_content`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from psycopg.rows import DictRow

from service.core.db import Connection
from service.store.queries import fetch_one, query

_MESSAGE = query("console_message")
_MESSAGE_CONTENT = query("console_message_content")
_MESSAGE_DELIVERIES = query("console_message_deliveries")
_MESSAGE_DMS = query("console_message_dms")
_MESSAGE_JOBS = query("console_message_jobs")
_JOB_EVENTS = query("console_job_events")
_MESSAGE_PHASE3 = query("console_message_phase3")
_PROFILE = query("console_profile")
_PROFILE_BY_USERNAME = query("console_profile_by_username")
_USER_MESSAGES = query("console_user_messages")
_USER_DMS = query("console_user_dms")
_FAILED_DMS = query("console_failed_dms")
_FAILED_DELIVERIES = query("console_failed_deliveries")
_RATE_LIMITS = query("console_rate_limits")
_ACTIVITY = query("console_activity")
# The status report's own list of stalled jobs, with its default of 30 s of silence.
_STALLED_JOBS = query("status_stalled_jobs")


async def _all(
    conn: Connection, sql: str, params: dict[str, object] | None = None
) -> list[DictRow]:
    cur = await conn.execute(sql, params or {})
    return await cur.fetchall()


async def message(conn: Connection, mid: str) -> DictRow | None:
    return await fetch_one(conn, _MESSAGE, {"mid": mid})


async def message_content(conn: Connection, mid: str) -> DictRow | None:
    return await fetch_one(conn, _MESSAGE_CONTENT, {"mid": mid})


async def message_deliveries(conn: Connection, mid: str) -> list[DictRow]:
    return await _all(conn, _MESSAGE_DELIVERIES, {"mid": mid})


async def message_dms(conn: Connection, mid: str) -> list[DictRow]:
    return await _all(conn, _MESSAGE_DMS, {"mid": mid})


async def message_jobs(
    conn: Connection, mid: str, outbound_ids: Sequence[uuid.UUID]
) -> list[DictRow]:
    return await _all(
        conn, _MESSAGE_JOBS, {"mid": mid, "outbound_ids": [str(i) for i in outbound_ids]}
    )


async def job_events(conn: Connection, job_ids: Sequence[int]) -> list[DictRow]:
    return await _all(conn, _JOB_EVENTS, {"job_ids": list(job_ids)})


async def message_phase3(conn: Connection, mid: str) -> list[DictRow]:
    return await _all(conn, _MESSAGE_PHASE3, {"mid": mid})


async def profile(conn: Connection, ig_id: str) -> DictRow | None:
    return await fetch_one(conn, _PROFILE, {"ig_id": ig_id})


async def profile_by_username(conn: Connection, username: str) -> str | None:
    """The IGSID of the user with this username, if one."""
    row = await fetch_one(conn, _PROFILE_BY_USERNAME, {"username": username})
    return None if row is None else row["ig_id"]


async def user_messages(
    conn: Connection,
    ig_id: str,
    *,
    limit: int,
    before: tuple[dt.datetime, str] | None = None,
) -> list[DictRow]:
    before_ts, before_id = before or (None, None)
    return await _all(
        conn,
        _USER_MESSAGES,
        {"ig_id": ig_id, "limit": limit, "before_ts": before_ts, "before_id": before_id},
    )


async def user_dms(conn: Connection, ig_id: str, *, limit: int) -> list[DictRow]:
    return await _all(conn, _USER_DMS, {"ig_id": ig_id, "limit": limit})


async def failed_dms(
    conn: Connection,
    *,
    limit: int,
    kind: str | None = None,
    error: str | None = None,
    since_seconds: float | None = None,
    account: str | None = None,
    environment: str | None = None,
    before: tuple[dt.datetime, uuid.UUID] | None = None,
) -> list[DictRow]:
    before_at, before_id = before or (None, None)
    return await _all(
        conn,
        _FAILED_DMS,
        {
            "limit": limit,
            "kind": kind,
            "account": account,
            "environment": environment,
            "error": error,
            "since_seconds": since_seconds,
            "before_at": before_at,
            "before_id": before_id,
        },
    )


async def failed_deliveries(
    conn: Connection, *, limit: int, before: tuple[dt.datetime, int] | None = None
) -> list[DictRow]:
    before_at, before_id = before or (None, None)
    return await _all(
        conn,
        _FAILED_DELIVERIES,
        {"limit": limit, "before_at": before_at, "before_id": before_id},
    )


async def stalled_jobs(conn: Connection) -> list[DictRow]:
    return await _all(conn, _STALLED_JOBS)


async def rate_limits(conn: Connection) -> list[DictRow]:
    return await _all(conn, _RATE_LIMITS)


async def activity(conn: Connection) -> list[DictRow]:
    return await _all(conn, _ACTIVITY)
