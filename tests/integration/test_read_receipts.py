"""Read receipts (Meta's `read` events): a signed delivery naming the last message a user
read marks our DMs to them read up to it, the console shows them read, and the status report
counts the verification DMs read within an hour."""

from __future__ import annotations

import datetime as dt

from service.business_account.runtime import open_runtime
from service.operations.status import collect
from service.operations.thresholds import Thresholds
from service.webhooks.forward import forward_delivery
from tests.support import seed
from tests.support.meta_payloads import SENT_MS, USER, delivery, entry, item

READ_AT = dt.datetime.fromtimestamp(SENT_MS / 1000, dt.UTC)


def a_sent_dm(db, remote_id: str, *, minutes_ago: float, recipient: str = USER) -> str:
    dm = seed.outbound(db, kind="verification", recipient=recipient, minutes_ago=minutes_ago)
    db.execute("UPDATE outbound_messages SET remote_message_id = %s WHERE id = %s", (remote_id, dm))
    return remote_id


def read_at(db) -> dict[str, dt.datetime | None]:
    rows = db.execute("SELECT remote_message_id, read_at FROM outbound_messages").fetchall()
    return {row["remote_message_id"]: row["read_at"] for row in rows}


async def deliver_read(api, mid: str, *, timestamp: int = SENT_MS) -> None:
    receipt = item(read={"mid": mid}, timestamp=timestamp)
    response = api.deliver(delivery(entry(receipt)))
    assert response.status_code == 200, response.text
    async with open_runtime(api.settings, pool_max_size=2) as rt:
        result = await forward_delivery(rt, response.json()["delivery_id"])
    assert result is not None and result.delivery.status == "forwarded"


async def test_a_read_receipt_marks_the_dms_to_its_reader_up_to_the_message_read(api, db):
    a_sent_dm(db, "dm-1", minutes_ago=30)
    a_sent_dm(db, "dm-2", minutes_ago=20)
    a_sent_dm(db, "dm-3", minutes_ago=10)
    a_sent_dm(db, "dm-other", minutes_ago=30, recipient="someone-else")

    await deliver_read(api, "dm-2")

    assert read_at(db) == {"dm-1": READ_AT, "dm-2": READ_AT, "dm-3": None, "dm-other": None}


async def test_a_receipt_repeated_or_naming_an_unknown_message_changes_nothing(api, db):
    a_sent_dm(db, "dm-1", minutes_ago=30)
    await deliver_read(api, "dm-1")

    await deliver_read(api, "dm-1", timestamp=SENT_MS + 60_000)
    await deliver_read(api, "not-ours")

    assert read_at(db) == {"dm-1": READ_AT}


async def test_the_status_report_counts_verification_dms_read_within_an_hour(api, db):
    a_sent_dm(db, "dm-1", minutes_ago=30)
    a_sent_dm(db, "dm-2", minutes_ago=20)
    a_sent_dm(db, "dm-3", minutes_ago=10)
    db.execute(
        "UPDATE outbound_messages SET read_at = created_at + CASE remote_message_id"
        " WHEN 'dm-1' THEN interval '5 minutes' WHEN 'dm-2' THEN interval '61 minutes' END"
    )

    async with open_runtime(api.settings, pool_max_size=2) as rt, rt.pool.connection() as conn:
        report = await collect(conn, Thresholds(), statement_timeout=10)

    assert report["verification_reads"] == {"sent": 3, "read_within_hour": 1}
