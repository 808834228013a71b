"""Consuming a verification token (`POST /api/internal/verify`): the account is connected
once, and the messages its user sent before connecting reach Phase 3."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from service.business_account.runtime import open_runtime
from service.core.errors import Conflict
from service.core.settings import Settings
from service.linking import verification
from tests.support import seed
from tests.support.stack import SCOPED_ID, Stack

VERIFY = "/api/internal/verify"
PLAINTEXT = seed.TOKEN_PLAINTEXT


def insert_message(db, mid: str, *, ig_id: str = "user-1", days_ago: float = 0, **columns):
    """A message stored and decided while its sender was unconnected."""
    values = {"is_echo": False, "source": "messaging", "processed": False, **columns}
    db.execute(
        'INSERT INTO messages (id, sender_ig_id, recipient_ig_id, "timestamp", decided_at,'
        " is_echo, source, processed)"
        " VALUES (%s, %s, %s, now() - make_interval(secs => %s), now(), %s, %s, %s)",
        (
            mid,
            ig_id,
            SCOPED_ID,
            days_ago * 86400,
            values["is_echo"],
            values["source"],
            values["processed"],
        ),
    )


def verify(api, *, token=PLAINTEXT, ig_id="user-1", user_id=None):
    user_id = user_id or uuid.uuid4()
    return api.post(VERIFY, {"token": token, "ig_id": ig_id, "user_id": str(user_id)})


def test_a_live_token_connects_the_account(api):
    seed.a_verification_token(api.db)
    user_id = uuid.uuid4()
    response = verify(api, user_id=user_id)
    assert response.status_code == 200, response.text
    body = response.json()
    [profile] = api.rows("SELECT * FROM instagram_profiles")
    assert profile["connected_user_id"] == user_id and profile["connected_at"] is not None
    assert body == {
        "success": True,
        "ig_id": "user-1",
        "user_id": str(user_id),
        "connected_at": body["connected_at"],
        "released_messages": 0,
        "username": None,
        "display_name": None,
        "profile_pic_url": None,
    }
    assert body["connected_at"].startswith(profile["connected_at"].isoformat()[:19])
    [token] = api.rows("SELECT * FROM verification_tokens")
    assert token["consumed"] is True and token["consumed_at"] is not None
    assert api.rows("SELECT id FROM profiles") == [{"id": user_id}]


def test_the_answer_says_who_the_account_is_once_meta_told(api):
    seed.a_verification_token(api.db)
    api.db.execute(
        "UPDATE instagram_profiles SET username = 'ada', display_name = 'Ada Lovelace',"
        " profile_pic_url = 'https://cdn/ada', profile_fetched_at = now() WHERE ig_id = 'user-1'"
    )

    body = verify(api).json()

    assert (body["username"], body["display_name"], body["profile_pic_url"]) == (
        "ada",
        "Ada Lovelace",
        "https://cdn/ada",
    )


def test_an_unknown_token_is_404_and_changes_nothing(api):
    seed.a_verification_token(api.db)
    response = verify(api, token="cd" * 32)
    assert response.status_code == 404 and "token" in response.json()["detail"]
    assert api.rows("SELECT consumed FROM verification_tokens") == [{"consumed": False}]
    assert api.rows("SELECT * FROM profiles") == []


def test_a_token_of_another_account_is_404(api):
    seed.a_verification_token(api.db, "user-1")
    seed.an_unconnected_sender(api.db, "user-2")
    response = verify(api, ig_id="user-2")
    assert response.status_code == 404
    assert api.rows("SELECT consumed FROM verification_tokens") == [{"consumed": False}]
    assert api.rows("SELECT * FROM instagram_profiles WHERE connected_user_id IS NOT NULL") == []


def test_an_expired_token_is_410(api):
    seed.a_verification_token(api.db, ttl="-1 second")
    response = verify(api)
    assert response.status_code == 410 and "expired" in response.json()["detail"]
    assert api.rows("SELECT consumed FROM verification_tokens") == [{"consumed": False}]
    assert api.rows("SELECT * FROM profiles") == []


def test_a_double_click_answers_the_same_body(api):
    seed.a_verification_token(api.db)
    insert_message(api.db, "m-early")
    user_id = uuid.uuid4()
    first = verify(api, user_id=user_id)
    second = verify(api, user_id=user_id)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() and first.json()["released_messages"] == 1
    assert len(api.rows("SELECT * FROM phase3_queue")) == 1


def test_a_token_consumed_by_another_user_is_409(api):
    seed.a_verification_token(api.db)
    first_user = uuid.uuid4()
    assert verify(api, user_id=first_user).status_code == 200
    response = verify(api, user_id=uuid.uuid4())
    assert response.status_code == 409 and "already" in response.json()["detail"]
    [profile] = api.rows("SELECT * FROM instagram_profiles")
    assert profile["connected_user_id"] == first_user


def test_an_account_connected_to_another_user_is_409(api):
    owner = seed.a_connected_sender(api.db, "user-1")
    seed.a_verification_token(api.db)
    response = verify(api)
    assert response.status_code == 409
    [profile] = api.rows("SELECT * FROM instagram_profiles")
    assert profile["connected_user_id"] == owner
    assert api.rows("SELECT consumed FROM verification_tokens") == [{"consumed": False}]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": PLAINTEXT, "ig_id": "user-1"},
        {"token": PLAINTEXT, "ig_id": "user-1", "user_id": "not-a-uuid"},
        {"token": "", "ig_id": "user-1", "user_id": str(uuid.uuid4())},
        {"token": PLAINTEXT, "ig_id": "", "user_id": str(uuid.uuid4())},
        {"token": 5, "ig_id": "user-1", "user_id": str(uuid.uuid4())},
    ],
)
def test_a_malformed_body_is_400_and_changes_nothing(api, body):
    seed.a_verification_token(api.db)
    response = api.post(VERIFY, body)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert api.rows("SELECT consumed FROM verification_tokens") == [{"consumed": False}]


def test_verify_needs_the_service_token(api):
    seed.a_verification_token(api.db)
    response = api.post(
        VERIFY, {"token": PLAINTEXT, "ig_id": "user-1", "user_id": str(uuid.uuid4())}, token=None
    )
    assert response.status_code == 401
    assert api.rows("SELECT consumed FROM verification_tokens") == [{"consumed": False}]


def test_earlier_messages_within_the_window_reach_phase3(api):
    seed.a_verification_token(api.db)
    insert_message(api.db, "m-old", days_ago=8)
    insert_message(api.db, "m-6-days", days_ago=6)
    insert_message(api.db, "m-today")
    insert_message(api.db, "m-echo", is_echo=True)
    insert_message(api.db, "m-standby", source="standby")
    insert_message(api.db, "m-other-user", ig_id="user-2")
    user_id = uuid.uuid4()
    response = verify(api, user_id=user_id)
    assert response.json()["released_messages"] == 2
    queued = api.rows("SELECT message_id, ig_id, connected_user_id FROM phase3_queue ORDER BY id")
    assert queued == [
        {"message_id": "m-6-days", "ig_id": "user-1", "connected_user_id": user_id},
        {"message_id": "m-today", "ig_id": "user-1", "connected_user_id": user_id},
    ]
    processed = api.rows("SELECT id FROM messages WHERE processed ORDER BY id")
    assert processed == [{"id": "m-6-days"}, {"id": "m-today"}]
    assert api.rows("SELECT * FROM outbound_messages") == []  # CONNECTED_DM_TEXT is unset


def test_the_release_window_is_a_setting(env, sandbox, db):
    with Stack({**env, "RELEASE_WINDOW_DAYS": "1"}, sandbox, db, worker=False) as api:
        seed.a_verification_token(db)
        insert_message(db, "m-2-days", days_ago=2)
        insert_message(db, "m-today")
        assert verify(api).json()["released_messages"] == 1


def test_the_connected_dm_is_sent_through_the_worker(env, sandbox, db, caplog):
    caplog.set_level("INFO")
    text = {"CONNECTED_DM_TEXT": "Connected! {count} earlier messages saved."}
    with Stack({**env, **text}, sandbox, db) as stack:
        seed.a_verification_token(db)
        insert_message(db, "m-1")
        insert_message(db, "m-2")
        response = verify(stack)
        assert response.status_code == 200 and response.json()["released_messages"] == 2
        [dm] = stack.outbound_settled(1)
        assert dm["kind"] == "custom" and dm["status"] == "sent"
        [sent] = sandbox.messages()
        assert sent.recipient_id == "user-1"
        assert sent.text == "Connected! 2 earlier messages saved."
        assert verify(stack).status_code == 409  # another user: nothing more is sent
        assert PLAINTEXT not in stack.worker.output() and PLAINTEXT not in caplog.text
    assert "/api/internal/verify" in caplog.text  # the request lines were captured


def test_the_next_message_after_connecting_is_acknowledged(stack, db):
    seed.a_verification_token(db)
    assert verify(stack).status_code == 200
    stack.ingest(mid="m-after", sender_ig_id="user-1")
    [dm] = stack.outbound_settled(1)
    assert dm["kind"] == "acknowledgement"
    assert stack.rows("SELECT message_id FROM phase3_queue") == [{"message_id": "m-after"}]


async def consume_at_once(database_url: str, users: list[uuid.UUID]) -> list:
    """Call verify for each user at the same moment, each on a connection of its own."""
    settings = Settings(database_url=database_url)
    async with open_runtime(settings, pool_max_size=len(users)) as rt:

        async def consume(user_id: uuid.UUID):
            try:
                return await verification.verify(
                    rt, token=PLAINTEXT, ig_id="user-1", user_id=user_id
                )
            except Conflict as exc:
                return exc

        return await asyncio.gather(*(consume(user) for user in users))


async def test_two_concurrent_calls_with_one_token_connect_once(database_url, db):
    seed.a_verification_token(db)
    insert_message(db, "m-early")
    results = await consume_at_once(database_url, [uuid.uuid4(), uuid.uuid4()])
    connected = [r for r in results if not isinstance(r, Conflict)]
    assert len(connected) == 1 and len(results) - len(connected) == 1
    [profile] = db.execute("SELECT connected_user_id FROM instagram_profiles").fetchall()
    assert profile["connected_user_id"] == connected[0].user_id
    assert len(db.execute("SELECT * FROM phase3_queue").fetchall()) == 1


async def test_a_concurrent_double_click_answers_the_same_twice(database_url, db):
    seed.a_verification_token(db)
    insert_message(db, "m-early")
    user_id = uuid.uuid4()
    first, second = await consume_at_once(database_url, [user_id, user_id])
    assert first == second and first.released_messages == 1
    [token] = db.execute("SELECT released_messages FROM verification_tokens").fetchall()
    assert token["released_messages"] == 1
    assert len(db.execute("SELECT * FROM phase3_queue").fetchall()) == 1


def test_ingest_connect_releases_earlier_messages(env, db):
    from tests.support.stack import run_cli

    insert_message(db, "m-early")
    user_id = uuid.uuid4()
    result = run_cli(env, "connect", "user-1", "--user-id", str(user_id))
    assert result.returncode == 0, result.stderr
    assert "1 earlier message" in result.stdout
    [profile] = db.execute("SELECT connected_user_id FROM instagram_profiles").fetchall()
    assert profile["connected_user_id"] == user_id
    assert db.execute("SELECT message_id FROM phase3_queue").fetchall() == [
        {"message_id": "m-early"}
    ]
