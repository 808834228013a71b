"""Several DMs' attempts begun, and their outcomes recorded, each in one statement: every
DM answered in its place, as if each had run alone."""

from __future__ import annotations

import uuid

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import sending, window
from service.store import dm_attempts
from tests.support import seed
from tests.support.sends import row


def begin_params(settings: Settings, dm_id: uuid.UUID, scoped_id: str) -> dict:
    return dm_attempts.begin_params(
        dm_id,
        scoped_id=scoped_id,
        attempt_id=uuid.uuid4(),
        lease_seconds=sending.attempt_lease_seconds(settings),
        window_seconds=settings.messaging_window_seconds,
        window_error=window.closed_error(settings),
    )


def held(db, scoped_id: str) -> None:
    db.execute(
        "INSERT INTO graph_rate_limits (scoped_id, limited_until, error)"
        " VALUES (%s, now() + interval '1 hour', 'limited')",
        (scoped_id,),
    )


async def test_each_dm_begins_in_its_place_by_its_own_account(env, db):
    settings = Settings.from_mapping(env)
    free, on_held, sent = (seed.a_pending_dm(db, f"user-{i}") for i in range(3))
    db.execute("UPDATE outbound_messages SET status = 'sent' WHERE id = %s", (sent,))
    held(db, "held-account")
    params = [
        begin_params(settings, free, "free-account"),
        begin_params(settings, on_held, "held-account"),
        begin_params(settings, sent, "free-account"),
    ]
    async with open_runtime(settings) as rt, rt.pool.connection() as conn:
        began = await dm_attempts.begin_attempts(conn, params)

    assert [a.began.id if a.began else None for a in began] == [free, None, None]
    assert [a.hold.rate_limit_seconds > 0 for a in began] == [False, True, False]
    assert row(db, free)["sending_attempt_id"] == params[0]["attempt_id"]
    assert row(db, on_held)["attempts"] == 0 and row(db, sent)["status"] == "sent"


async def test_each_outcome_is_recorded_in_its_place_and_one_account_held_once(env, db):
    """Two rate-limit answers for one account in one statement hold it once, for the
    longer; an outcome whose attempt is no longer the row's records nothing."""
    settings = Settings.from_mapping(env)
    lease = sending.attempt_lease_seconds(settings)
    dms = [seed.a_pending_dm(db, f"user-{i}") for i in range(3)]
    attempts = [uuid.uuid4() for _ in dms]
    for dm_id, attempt_id in zip(dms, attempts, strict=True):
        db.execute(
            "UPDATE outbound_messages SET sending_attempt_id = %s, sending_started_at = now()"
            " WHERE id = %s",
            (attempt_id, dm_id),
        )
    limited = {"status": "pending", "lease_seconds": lease, "scoped_id": "busy-account"}
    params = [
        dm_attempts.record_params(
            dms[0], attempt_id=attempts[0], error="limited", hold_seconds=60, **limited
        ),
        dm_attempts.record_params(
            dms[1], attempt_id=attempts[1], error="limited", hold_seconds=600, **limited
        ),
        dm_attempts.record_params(
            dms[2], status="sent", attempt_id=uuid.uuid4(), lease_seconds=lease
        ),
    ]
    async with open_runtime(settings) as rt, rt.pool.connection() as conn:
        recorded = await dm_attempts.record_attempts(conn, params)

    assert [r.id if r else None for r in recorded] == [dms[0], dms[1], None]
    assert row(db, dms[2])["sending_attempt_id"] == attempts[2]
    [hold] = db.execute(
        "SELECT extract(epoch FROM limited_until - now()) AS seconds FROM graph_rate_limits"
        " WHERE scoped_id = 'busy-account'"
    ).fetchall()
    assert 590 < hold["seconds"] <= 600
