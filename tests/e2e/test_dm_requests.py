"""DM requests that are safe to retry: send-dm's Idempotency-Key, answers that are never a 5xx
once the DM is recorded, send-verification-dm's bounded wait and resend window, and
generate-verification under concurrent calls."""

from __future__ import annotations

import asyncio
import concurrent.futures

import httpx
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.support import seed
from tests.support.processes import wait_until
from tests.support.stack import SCOPED_ID, SERVICE_TOKEN, Stack

SEND_DM = "/api/internal/send-dm"
SEND_VERIFICATION = "/api/internal/send-verification-dm"
GENERATE = "/api/internal/generate-verification"
HI = {"ig_id": "user-1", "message_text": "hi there"}


def keyed(key: str) -> dict[str, str]:
    return {"x-service-token": SERVICE_TOKEN, "idempotency-key": key}


def post_all(url: str, path: str, bodies: list[dict], headers: dict[str, str]) -> list:
    """POST every body at once to the live server; the responses, in order."""

    async def run() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            return await asyncio.gather(
                *(client.post(path, json=body, headers=headers) for body in bodies)
            )

    return asyncio.run(run())


def test_the_same_key_and_body_answers_the_first_dm_and_sends_nothing_more(stack):
    first = stack.client.post(SEND_DM, json=HI, headers=keyed("order-1"))
    again = stack.client.post(SEND_DM, json=HI, headers=keyed("order-1"))
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert again.json() == first.json()
    assert len(stack.sandbox.messages()) == 1
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1


def test_the_same_key_with_another_body_is_409_and_sends_nothing(stack):
    first = stack.client.post(SEND_DM, json=HI, headers=keyed("order-2"))
    assert first.status_code == 200
    other = stack.client.post(
        SEND_DM, json={**HI, "message_text": "something else"}, headers=keyed("order-2")
    )
    assert other.status_code == 409, other.text
    assert "Idempotency-Key" in other.json()["detail"]
    assert len(stack.sandbox.messages()) == 1
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1


def test_another_key_sends_again(stack):
    for key in ("order-3", "order-4"):
        assert stack.client.post(SEND_DM, json=HI, headers=keyed(key)).status_code == 200
    assert len(stack.sandbox.messages()) == 2


@pytest.mark.parametrize("key", ["", "   ", " leading", "k" * 256, "tab\there"])
def test_a_malformed_key_is_400_and_stores_nothing(api, key):
    response = api.client.post(SEND_DM, json=HI, headers=keyed(key))
    assert response.status_code == 400, response.text
    assert "Idempotency-Key" in response.json()["detail"]
    assert api.rows("SELECT * FROM outbound_messages") == []


def test_concurrent_requests_with_one_key_make_one_dm(env, sandbox, db):
    with Stack(env, sandbox, db, live_server=True) as stack:
        answers = post_all(stack.live_server.url, SEND_DM, [HI] * 6, keyed("order-5"))
        assert {a.status_code for a in answers} <= {200, 202}, [a.text for a in answers]
        assert len({a.json()["outbound_message_id"] for a in answers}) == 1
        stack.outbound_settled(1)
        assert len(stack.rows("SELECT * FROM outbound_messages")) == 1
        assert sandbox.attempts == 1


def test_a_database_error_while_waiting_answers_202_pending(env, sandbox, db, database_url):
    # No worker: the DM stays pending, so the request is still waiting when the database
    # goes away under it.
    slow = {**env, "SEND_DM_WAIT_SECONDS": "30", "DB_POOL_TIMEOUT_SECONDS": "0.5"}
    dbname = db.info.dbname
    admin = psycopg.connect(make_conninfo(database_url, dbname="postgres"), autocommit=True)
    with admin, Stack(slow, sandbox, db, worker=False, live_server=True) as stack:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            answer = pool.submit(
                httpx.post,
                f"{stack.live_server.url}{SEND_DM}",
                json=HI,
                headers=keyed("order-6"),
                timeout=60,
            )
            [row] = wait_until(
                lambda: db.execute("SELECT id FROM outbound_messages").fetchall(),
                what="the DM's row to be committed",
            )
            try:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> %s",
                    (dbname, db.info.backend_pid),
                )
                response = answer.result(timeout=60)
            finally:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        assert response.status_code == 202, response.text
        assert response.json() == {
            "success": True,
            "outbound_message_id": str(row["id"]),
            "status": "pending",
        }


@pytest.fixture
def quick(env, sandbox, db):
    """The app without a worker, waiting at most half a second in a request."""
    with Stack({**env, "SEND_DM_WAIT_SECONDS": "0.5"}, sandbox, db, worker=False) as running:
        yield running


def test_a_rate_limit_hold_longer_than_the_wait_is_429_and_sends_nothing(quick, db):
    seed.a_verification_token(db, "user-3")
    db.execute(
        "INSERT INTO graph_rate_limits (scoped_id, limited_until)"
        " VALUES (%s, now() + interval '3 seconds')",
        (SCOPED_ID,),
    )
    response = quick.post(SEND_VERIFICATION, {"ig_id": "user-3", "token_plain": "ab" * 32})
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= 3
    assert response.json()["detail"]
    assert quick.sandbox.attempts == 0
    assert quick.rows("SELECT * FROM outbound_messages") == []


def test_a_retry_after_beyond_the_wait_is_429_after_one_call(quick, db):
    seed.a_verification_token(db, "user-3")
    quick.sandbox.script(
        {
            "status": 429,
            "headers": {"Retry-After": "2"},
            "body": {"error": {"message": "Too many calls", "code": 4}},
        }
    )
    response = quick.post(SEND_VERIFICATION, {"ig_id": "user-3", "token_plain": "ab" * 32})
    assert response.status_code == 429, response.text
    assert int(response.headers["retry-after"]) == 2
    assert quick.sandbox.attempts == 1 and quick.sandbox.messages() == []
    [dm] = quick.rows("SELECT status, error FROM outbound_messages")
    assert dm["status"] == "failed" and "Too many calls" in dm["error"]


def test_the_waits_between_tries_stop_at_the_request_budget(quick, db):
    seed.a_verification_token(db, "user-3")
    server_error = {"status": 500, "body": {"error": {"message": "boom", "code": 2}}}
    # Backoff 0.05, 0.1, 0.2 s: the fourth call is over the 0.5 s budget only with a
    # longer wait, so make the Graph API ask for one.
    quick.sandbox.script(
        server_error, {**server_error, "headers": {"Retry-After": "1"}}, server_error
    )
    response = quick.post(SEND_VERIFICATION, {"ig_id": "user-3", "token_plain": "ab" * 32})
    assert response.status_code == 422, response.text
    assert response.json()["status"] == "failed"
    assert quick.sandbox.attempts == 2 and quick.sandbox.messages() == []
    [dm] = quick.rows("SELECT status FROM outbound_messages")
    assert dm["status"] == "failed"


def test_the_same_live_token_is_not_dmed_twice_within_the_resend_window(quick, db):
    seed.a_verification_token(db, "user-3")
    body = {"ig_id": "user-3", "token_plain": "ab" * 32}
    assert quick.post(SEND_VERIFICATION, body).status_code == 200
    again = quick.post(SEND_VERIFICATION, body)
    assert again.status_code == 409, again.text
    assert again.json()["detail"]
    assert len(quick.sandbox.messages()) == 1
    assert len(quick.rows("SELECT * FROM outbound_messages")) == 1


def test_a_token_whose_dm_failed_may_be_dmed_again(quick, db):
    seed.a_verification_token(db, "user-3")
    quick.sandbox.script({"status": 400, "body": {"error": {"message": "nope", "code": 100}}})
    body = {"ig_id": "user-3", "token_plain": "ab" * 32}
    assert quick.post(SEND_VERIFICATION, body).status_code == 422
    assert quick.post(SEND_VERIFICATION, body).status_code == 200
    assert len(quick.sandbox.messages()) == 1


@pytest.mark.parametrize("accounts", [["user-7"], ["user-7", "user-8"]])
def test_concurrent_generate_verification_for_one_new_event_never_answers_500(
    env, sandbox, db, accounts
):
    bodies = [{"ig_id": accounts[i % len(accounts)], "event_id": "m-new"} for i in range(8)]
    with Stack(env, sandbox, db, worker=False, live_server=True) as stack:
        answers = post_all(
            stack.live_server.url, GENERATE, bodies, {"x-service-token": SERVICE_TOKEN}
        )
    assert {a.status_code for a in answers} <= {200, 404}, [a.text for a in answers]
    [token] = db.execute("SELECT token_hash, ig_id FROM verification_tokens").fetchall()
    # A refused request (404) leaves no profile behind.
    profiles = db.execute("SELECT ig_id FROM instagram_profiles").fetchall()
    assert profiles == [{"ig_id": token["ig_id"]}]
    for body, answer in zip(bodies, answers, strict=True):
        if answer.status_code == 200:
            assert answer.json()["token_hash"] == token["token_hash"]
            assert answer.json()["ig_id"] == body["ig_id"] == token["ig_id"]
    assert sum(a.status_code == 200 for a in answers) >= 1
