"""The decision of a message's processing, its rules (`service.messages.decision`) over the
store's statements in one transaction, and the closed-window refusal made by the statement
that begins a send's attempt."""

from __future__ import annotations

import uuid

from prometheus_client import REGISTRY

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import sending, texts, window
from service.messages import deciding
from service.store import dm_attempts
from tests.support import seed
from tests.support.sends import row
from tests.support.stack import SCOPED_ID


def store_message(db, mid: str, sender: str, *, source: str = "messaging", echo: bool = False):
    db.execute(
        'INSERT INTO messages (id, sender_ig_id, recipient_ig_id, "timestamp", source, is_echo)'
        " VALUES (%s, %s, %s, now(), %s, %s)",
        (mid, sender, SCOPED_ID, source, echo),
    )


def message_row(db, mid: str) -> dict:
    return db.execute(
        "SELECT decided_at IS NOT NULL AS decided, processed FROM messages WHERE id = %s", (mid,)
    ).fetchone()


def count(db, sql: str, *params) -> int:
    return db.execute(sql, params).fetchone()["n"]


async def process(env, mid: str) -> tuple[deciding.Outcome, list]:
    async with open_runtime(Settings.from_mapping(env)) as rt:
        return await deciding.decide(rt, mid)


def latencies_observed() -> float:
    """How many decisions `ingest_message_latency_seconds` has observed in this process."""
    return REGISTRY.get_sample_value("ingest_message_latency_seconds_count") or 0.0


async def test_a_connected_senders_message_is_acknowledged_queued_and_decided(env, db):
    user_id = seed.a_connected_sender(db, "fan-1")
    store_message(db, "m-1", "fan-1")
    observed = latencies_observed()

    outcome, [dm] = await process(env, "m-1")

    assert outcome is deciding.Outcome.ACKNOWLEDGED
    assert latencies_observed() == observed + 1
    assert (dm.kind, dm.recipient_ig_id, dm.message_id, dm.status) == (
        "acknowledgement",
        "fan-1",
        "m-1",
        "pending",
    )
    assert dm.payload == {"text": texts.ACKNOWLEDGEMENT}
    assert message_row(db, "m-1") == {"decided": True, "processed": True}
    queued = db.execute("SELECT ig_id, connected_user_id FROM phase3_queue").fetchall()
    assert queued == [{"ig_id": "fan-1", "connected_user_id": user_id}]

    again, owed = await process(env, "m-1")
    assert again is deciding.Outcome.ALREADY_DECIDED
    assert latencies_observed() == observed + 1
    assert [d.id for d in owed] == [dm.id]


async def test_a_connected_senders_postback_is_acknowledged_but_never_reaches_phase3(env, db):
    seed.a_connected_sender(db, "fan-2")
    store_message(db, "m-pb", "fan-2", source="postback")

    outcome, owed = await process(env, "m-pb")

    assert outcome is deciding.Outcome.ACKNOWLEDGED and len(owed) == 1
    assert message_row(db, "m-pb") == {"decided": True, "processed": False}
    assert count(db, "SELECT count(*) AS n FROM phase3_queue") == 0


async def test_within_the_cooldown_a_second_message_gets_no_acknowledgement(env, db):
    seed.a_connected_sender(db, "fan-3")
    store_message(db, "m-a", "fan-3")
    store_message(db, "m-b", "fan-3")
    cooling = {**env, "ACK_COOLDOWN_SECONDS": "60"}
    first, second = [await process(cooling, mid) for mid in ("m-a", "m-b")]
    assert (first[0], len(first[1])) == (deciding.Outcome.ACKNOWLEDGED, 1)
    assert second == (deciding.Outcome.ACKNOWLEDGED, [])
    assert message_row(db, "m-b") == {"decided": True, "processed": True}
    assert count(db, "SELECT count(*) AS n FROM phase3_queue") == 2


async def test_an_unconnected_sender_is_asked_to_verify_once(env, db):
    store_message(db, "m-v1", "stranger")
    store_message(db, "m-v2", "stranger")

    outcome, [dm] = await process(env, "m-v1")
    assert outcome is deciding.Outcome.VERIFICATION_QUEUED
    assert (dm.kind, dm.recipient_ig_id, dm.message_id) == ("verification", "stranger", "m-v1")
    settings = Settings.from_mapping(env)
    assert dm.payload == {
        "text": texts.verification_redacted(
            verify_url_base=settings.verify_url_base, ig_id="stranger"
        )
    }
    assert message_row(db, "m-v1") == {"decided": True, "processed": False}

    outcome, owed = await process(env, "m-v2")
    assert (outcome, owed) == (deciding.Outcome.VERIFICATION_SUPPRESSED, [])
    assert message_row(db, "m-v2") == {"decided": True, "processed": False}
    assert count(db, "SELECT count(*) AS n FROM outbound_messages") == 1


async def test_echoes_standby_and_unsent_messages_are_decided_and_never_answered(env, db):
    seed.a_connected_sender(db, "fan-4")
    store_message(db, "m-echo", "fan-4", echo=True)
    store_message(db, "m-standby", "fan-4", source="standby")
    store_message(db, "m-unsent", "fan-4")
    db.execute("UPDATE messages SET deleted_at = now() WHERE id = 'm-unsent'")

    outcomes = {mid: await process(env, mid) for mid in ("m-echo", "m-standby", "m-unsent")}

    assert outcomes == {
        "m-echo": (deciding.Outcome.ECHO, []),
        "m-standby": (deciding.Outcome.STANDBY, []),
        "m-unsent": (deciding.Outcome.UNSENT, []),
    }
    assert count(db, "SELECT count(*) AS n FROM messages WHERE decided_at IS NULL") == 0
    assert count(db, "SELECT count(*) AS n FROM outbound_messages") == 0


async def test_an_unknown_message_is_missing(env, db):
    assert await process(env, "m-nowhere") == (deciding.Outcome.MISSING, [])


async def begin(settings: Settings, dm_id: uuid.UUID) -> dm_attempts.Attempt:
    async with open_runtime(settings) as rt, rt.pool.connection() as conn:
        params = dm_attempts.begin_params(
            dm_id,
            scoped_id=settings.instagram_scoped_id,
            attempt_id=uuid.uuid4(),
            lease_seconds=sending.attempt_lease_seconds(settings),
            window_seconds=settings.messaging_window_seconds,
            window_error=window.closed_error(settings),
        )
        return await dm_attempts.begin_attempt(conn, params)


async def test_begin_fails_a_dm_whose_window_closed_even_while_the_account_is_held(env, db):
    settings = Settings.from_mapping(env)
    dm_id = seed.a_pending_dm(db, "gone-quiet")
    seed.an_unconnected_sender(db, "gone-quiet", last_inbound_seconds_ago=2 * 86400)
    db.execute(
        "INSERT INTO graph_rate_limits (scoped_id, limited_until, error)"
        " VALUES (%s, now() + interval '1 hour', 'limited')",
        (settings.instagram_scoped_id,),
    )
    attempt = await begin(settings, dm_id)
    assert attempt.window_closed and attempt.began is None
    assert attempt.row is not None and attempt.row.status == "failed"
    assert row(db, dm_id) == {
        "status": "failed",
        "attempts": 0,
        "error": window.closed_error(settings),
        "sending_attempt_id": None,
    }


async def test_begin_counts_the_attempt_of_a_dm_within_its_window(env, db):
    settings = Settings.from_mapping(env)
    dm_id = seed.a_pending_dm(db, "still-here")
    seed.an_unconnected_sender(db, "still-here", last_inbound_seconds_ago=0)
    attempt = await begin(settings, dm_id)
    assert not attempt.window_closed and attempt.began is not None
    assert attempt.began.attempts == 1 and row(db, dm_id)["status"] == "pending"
