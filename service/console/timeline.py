"""One message or one user, followed through every table that knows of them.

A message's steps, in time order: the webhook delivery that carried it, its row, its jobs
and their events, its DMs, its Phase 3 row. Texts and attachments stay out unless an
operator reveals them (`content`); verification tokens are never read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from service.core.runtime import Runtime
from service.store import console as console_store
from service.store.rows import DMStatus

# Messages of a user per page (older ones by keyset), and their latest DMs shown.
USER_MESSAGES_PAGE = 20
USER_DMS_SHOWN = 20


@dataclasses.dataclass(frozen=True)
class Step:
    at: dt.datetime
    what: str
    detail: str = ""


async def message(rt: Runtime, mid: str) -> dict[str, Any] | None:
    async with rt.pool.connection() as conn:
        row = await console_store.message(conn, mid)
        if row is None:
            return None
        deliveries = await console_store.message_deliveries(conn, mid)
        dms = await console_store.message_dms(conn, mid)
        jobs = await console_store.message_jobs(conn, mid, [dm["id"] for dm in dms])
        events = await console_store.job_events(conn, [job["id"] for job in jobs])
        phase3 = await console_store.message_phase3(conn, mid)
    tasks = {job["id"]: job["task"] for job in jobs}
    steps = [
        *(Step(d["received_at"], f"webhook delivery {d['id']} received") for d in deliveries),
        *(
            Step(d["last_attempt_at"], f"webhook delivery {d['id']} {d['status']}", d["last_error"])
            for d in deliveries
            if d["last_attempt_at"]
        ),
        Step(row["created_at"], _stored(row)),
        *(Step(e["at"], f"job {e['job_id']} ({tasks[e['job_id']]}) {e['type']}") for e in events),
        *(Step(dm["created_at"], f"{dm['kind']} DM created") for dm in dms),
        *(
            Step(dm["updated_at"], f"{dm['kind']} DM {dm['status']}", dm["error"] or "")
            for dm in dms
            if dm["status"] != DMStatus.PENDING
        ),
    ]
    if row["decided_at"]:
        steps.append(Step(row["decided_at"], "message decided"))
    if row["edited_at"]:
        steps.append(Step(row["edited_at"], f"edited by the sender ({row['edit_count']}×)"))
    if row["deleted_at"]:
        steps.append(Step(row["deleted_at"], "unsent by the sender: text and attachments gone"))
    for item in phase3:
        what = "queued for Phase 3" if item["kind"] == "message" else "Phase 3 told of the unsend"
        steps.append(Step(item["created_at"], what))
        if item["completed_at"]:
            steps.append(Step(item["completed_at"], f"Phase 3 {item['kind']} row {item['status']}"))
    events_by_job: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        events_by_job.setdefault(event["job_id"], []).append(event)
    return {
        "message": row,
        "deliveries": deliveries,
        "dms": dms,
        "jobs": [{**job, "events": events_by_job.get(job["id"], [])} for job in jobs],
        "phase3": phase3,
        "steps": sorted(steps, key=lambda step: step.at),
    }


def _stored(row: dict[str, Any]) -> str:
    if row["source"] == "reconciled":
        return "message stored, reconciled: its webhook never came; found in its conversation"
    return "message stored"


async def content(rt: Runtime, mid: str) -> dict[str, Any] | None:
    """The message's text and attachment URLs, for an operator who asked to see them."""
    async with rt.pool.connection() as conn:
        row = await console_store.message_content(conn, mid)
    if row is None:
        return None
    attachments = row["attachments"] if isinstance(row["attachments"], list) else []
    urls = [
        str(a.get("payload", {}).get("url"))
        for a in attachments
        if isinstance(a, dict) and isinstance(a.get("payload"), dict) and a["payload"].get("url")
    ]
    return {"text": row["message_text"], "attachment_urls": urls}


async def user(
    rt: Runtime, ig_id: str, *, before: tuple[dt.datetime, str] | None = None
) -> dict[str, Any] | None:
    async with rt.pool.connection() as conn:
        profile = await console_store.profile(conn, ig_id)
        messages = await console_store.user_messages(
            conn, ig_id, limit=USER_MESSAGES_PAGE + 1, before=before
        )
        dms = await console_store.user_dms(conn, ig_id, limit=USER_DMS_SHOWN)
    if profile is None and not messages and not dms and before is None:
        return None
    # As send-dm decides it (`service.dms.window`): a user never heard from has no window.
    last_inbound = profile["last_inbound_at"] if profile else None
    window = dt.timedelta(seconds=rt.settings.messaging_window_seconds)
    window_ends = last_inbound + window if last_inbound else None
    return {
        "ig_id": ig_id,
        "profile": profile,
        "messages": messages[:USER_MESSAGES_PAGE],
        "older": messages[USER_MESSAGES_PAGE - 1] if len(messages) > USER_MESSAGES_PAGE else None,
        "dms": dms,
        "window_ends": window_ends,
        "window_open": window_ends is not None and window_ends > dt.datetime.now(dt.UTC),
    }
