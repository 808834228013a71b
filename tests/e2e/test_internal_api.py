"""The internal API: authentication, validation, and the token and DM endpoints."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest

from tests.support import seed
from tests.support.meta_payloads import (
    CDN,
    POST_ID,
    REEL_ID,
    shared_post_new_style,
    shared_reel,
    unknown_attachment,
)
from tests.support.processes import ServiceProcess, free_port
from tests.support.stack import ACCESS_TOKEN, SERVICE_TOKEN, Stack

GOOD_EVENT = {
    "mid": "m-1",
    "sender_ig_id": "user-1",
    "recipient_ig_id": "page-1",
    "timestamp": "1734123456",
    "message_text": "Hello",
}
INGEST = "/api/internal/ingest-event"


def stored(api) -> dict[str, int]:
    return {
        table: api.rows(f"SELECT count(*) AS n FROM {table}")[0]["n"]
        for table in ("messages", "outbound_messages", "verification_tokens", "procrastinate_jobs")
    }


NOTHING = {"messages": 0, "outbound_messages": 0, "verification_tokens": 0, "procrastinate_jobs": 0}


@pytest.mark.parametrize("token", [None, "", "wrong-token", SERVICE_TOKEN + "x"])
@pytest.mark.parametrize(
    "path",
    [
        INGEST,
        "/api/internal/generate-verification",
        "/api/internal/send-verification-dm",
        "/api/internal/send-dm",
    ],
)
def test_a_missing_or_wrong_service_token_is_401(api, path, token):
    response = api.post(path, GOOD_EVENT, token=token)
    assert response.status_code == 401
    assert "x-service-token" in response.json()["detail"]
    assert stored(api) == NOTHING


@pytest.mark.parametrize(
    "change",
    [
        {"mid": ""},
        {"mid": "   "},
        {"mid": None},
        {"mid": 5},
        {"sender_ig_id": ""},
        {"recipient_ig_id": ["x"]},
        {"timestamp": "yesterday"},
        {"timestamp": -5},
        {"timestamp": True},
        {"timestamp": None},
        {"message_text": 12},
        {"attachments": "a string"},
        {"mid": "a\x00b"},
        {"message_text": "nul\x00"},
    ],
)
def test_a_bad_body_is_400_and_stores_nothing(api, change):
    response = api.post(INGEST, {**GOOD_EVENT, **change})
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    assert stored(api) == NOTHING


def test_a_missing_field_is_named_in_the_error(api):
    body = dict(GOOD_EVENT)
    del body["sender_ig_id"]
    response = api.post(INGEST, body)
    assert response.status_code == 400
    assert "sender_ig_id" in response.text


def test_malformed_json_is_400(api):
    response = api.client.post(
        INGEST,
        content=b"{not json",
        headers={"x-service-token": SERVICE_TOKEN, "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert stored(api) == NOTHING


def test_unstorable_json_is_a_4xx_not_a_500(api):
    response = api.post(INGEST, {**GOOD_EVENT, "attachments": [{"title": "nul\u0000"}]})
    assert response.status_code in (400, 422)
    assert stored(api) == NOTHING


@pytest.mark.parametrize(
    "timestamp, expected",
    [
        ("1734123456", dt.datetime(2024, 12, 13, 20, 57, 36, tzinfo=dt.UTC)),
        (1734123456789, dt.datetime(2024, 12, 13, 20, 57, 36, 789000, tzinfo=dt.UTC)),
        ("2024-12-13T20:57:36Z", dt.datetime(2024, 12, 13, 20, 57, 36, tzinfo=dt.UTC)),
    ],
)
def test_timestamps_in_seconds_milliseconds_or_iso(api, timestamp, expected):
    assert api.post(INGEST, {**GOOD_EVENT, "timestamp": timestamp}).status_code == 202
    [row] = api.rows("SELECT timestamp FROM messages")
    assert row["timestamp"] == expected


def test_an_accepted_event_defers_exactly_one_job_with_only_its_mid(api):
    api.post(
        INGEST,
        {
            **GOOD_EVENT,
            "attachments": [
                {
                    "type": "ig_reel",
                    "payload": {"url": "https://lookaside.example/reel", "reel_video_id": "1"},
                }
            ],
        },
    )
    [job] = api.rows("SELECT * FROM procrastinate_jobs")
    assert job["task_name"] == "decide_message" and job["args"] == {"mid": "m-1"}
    [message] = api.rows("SELECT attachments FROM messages")
    assert message["attachments"][0]["type"] == "ig_reel"


def test_what_a_message_shared_is_stored_typed_beside_its_attachments_as_received(api):
    sent = [shared_reel(), *shared_post_new_style(), unknown_attachment()]

    assert api.post(INGEST, {**GOOD_EVENT, "attachments": sent}).status_code == 202

    [message] = api.rows("SELECT attachments, shared_items FROM messages")
    assert message["attachments"] == sent
    assert message["shared_items"] == [
        {"kind": "reel", "media_id": REEL_ID, "url": CDN, "title": "a reel", "type": None},
        {"kind": "post", "media_id": POST_ID, "url": CDN, "title": "a post", "type": None},
        {
            "kind": "other",
            "media_id": None,
            "url": None,
            "title": None,
            "type": "a_type_meta_adds_next_year",
        },
    ]


def test_a_text_only_message_shared_nothing_and_an_unsend_clears_what_one_shared(api):
    api.post(INGEST, GOOD_EVENT)
    api.post(INGEST, {**GOOD_EVENT, "mid": "m-2", "attachments": [shared_reel()]})

    api.post(INGEST, {**GOOD_EVENT, "mid": "m-2", "is_deleted": True})

    rows = api.rows("SELECT id, shared_items FROM messages ORDER BY id")
    assert rows == [{"id": "m-1", "shared_items": []}, {"id": "m-2", "shared_items": []}]


def test_a_repeated_event_is_accepted_and_says_it_is_a_duplicate(api):
    unsend = {**GOOD_EVENT, "is_deleted": True}
    answers = [api.post(INGEST, body) for body in (GOOD_EVENT, GOOD_EVENT, unsend, unsend)]

    assert [answer.status_code for answer in answers] == [202] * 4
    assert [answer.json()["duplicate"] for answer in answers] == [False, True, False, True]
    assert {answer.json()["message"] for answer in answers} == {"Event accepted for processing"}


def test_the_openapi_schema_says_what_duplicate_means_and_that_a_batch_is_all_or_none(api):
    schema = api.client.get("/schema/openapi.json", headers={"x-service-token": SERVICE_TOKEN})

    document = schema.json()
    batch = document["paths"]["/api/internal/ingest-events"]["post"]["description"]
    assert "all or none" in batch and "nothing of it is stored" in batch
    answer = document["components"]["schemas"]["IngestEventResponse"]["properties"]["duplicate"]
    assert "nothing new was stored" in answer["description"]


def test_the_openapi_schema_is_served_only_with_the_service_token(api):
    for headers in ({}, {"x-service-token": "wrong-token"}):
        refused = api.client.get("/schema/openapi.json", headers=headers)
        assert refused.status_code == 401 and "paths" not in refused.json()
    assert api.client.get("/schema", headers={"x-service-token": "wrong"}).status_code == 401
    response = api.client.get("/schema/openapi.json", headers={"x-service-token": SERVICE_TOKEN})
    assert response.status_code == 200
    assert INGEST in response.json()["paths"]


def test_ingest_dev_serves_the_openapi_schema_to_anyone(env):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    dev = ServiceProcess("dev", {**env, "PORT": str(port), "HOST": "127.0.0.1"})

    def answers() -> httpx.Response | None:
        try:
            return httpx.get(f"{url}/schema/openapi.json", timeout=2)
        except httpx.TransportError:
            return None

    try:
        dev.start(answers)
        response = answers()
    finally:
        dev.terminate()
        dev.close()
    assert response.status_code == 200 and INGEST in response.json()["paths"]


def test_generate_verification_returns_only_the_hash(api):
    response = api.post(
        "/api/internal/generate-verification", {"ig_id": "user-7", "event_id": "m-7"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token_hash", "expires_at", "ig_id"} and body["ig_id"] == "user-7"
    [token] = api.rows("SELECT *, expires_at - created_at AS ttl FROM verification_tokens")
    assert token["token_hash"] == body["token_hash"] and token["ttl"].total_seconds() == 3600
    assert token["created_by_event_id"] == "m-7" and token["consumed"] is False
    again = api.post("/api/internal/generate-verification", {"ig_id": "user-7", "event_id": "m-7"})
    assert again.json() == body
    assert len(api.rows("SELECT * FROM verification_tokens")) == 1


def test_send_verification_dm_sends_the_link_and_stores_no_plaintext(api):
    plaintext = "ab" * 32
    digest = seed.a_verification_token(api.db, "user-3", plaintext)
    response = api.post(
        "/api/internal/send-verification-dm", {"ig_id": "user-3", "token_plain": plaintext}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    [sent] = api.sandbox.messages()
    assert body["success"] is True and body["remote_message_id"] == sent.message_id
    assert f"?token={plaintext}&ig_id=user-3" in sent.text
    [dm] = api.rows("SELECT * FROM outbound_messages")
    assert str(dm["id"]) == body["outbound_message_id"] and dm["status"] == "sent"
    assert dm["payload"]["token_hash"] == digest and plaintext not in str(dm["payload"])


def test_send_verification_dm_with_an_unknown_token_is_404(api):
    seed.a_verification_token(api.db, "user-3", "cd" * 32)
    response = api.post(
        "/api/internal/send-verification-dm", {"ig_id": "user-3", "token_plain": "ef" * 32}
    )
    assert response.status_code == 404 and "token" in response.json()["detail"]
    assert api.rows("SELECT * FROM outbound_messages") == []
    assert api.sandbox.attempts == 0


def test_send_dm_answers_202_pending_when_no_worker_sends_it_in_time(env, sandbox, db):
    with Stack({**env, "SEND_DM_WAIT_SECONDS": "0.1"}, sandbox, db, worker=False) as api:
        response = api.post("/api/internal/send-dm", {"ig_id": "user-1", "message_text": "hi"})
        assert response.status_code == 202
        body = response.json()
        assert body["status"] == "pending" and uuid.UUID(body["outbound_message_id"])
        [job] = api.rows("SELECT * FROM procrastinate_jobs")
        assert job["task_name"] == "send_outbound"
        assert job["args"] == {"outbound_id": body["outbound_message_id"]}


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"ig_id": "u", "message_text": ""}, "message_text"),
        ({"ig_id": "u", "message_text": "   "}, "message_text"),
        ({"ig_id": "u", "message_text": "é" * 501}, "1000 bytes"),
        ({"ig_id": "u", "message_text": "hi", "kind": "spam"}, "kind"),
        ({"ig_id": "", "message_text": "hi"}, "ig_id"),
    ],
)
def test_send_dm_rejects_bad_input(api, body, fragment):
    response = api.post("/api/internal/send-dm", body)
    assert response.status_code in (400, 422)
    assert fragment in response.text
    assert api.rows("SELECT * FROM outbound_messages") == []


def test_send_dm_through_the_worker_returns_the_remote_id(stack):
    response = stack.post("/api/internal/send-dm", {"ig_id": "user-1", "message_text": "hi there"})
    assert response.status_code == 200, response.text
    body = response.json()
    [sent] = stack.sandbox.messages()
    assert body == {
        "success": True,
        "outbound_message_id": body["outbound_message_id"],
        "remote_message_id": sent.message_id,
    }
    assert sent.text == "hi there"
    [dm] = stack.rows("SELECT * FROM outbound_messages")
    assert dm["kind"] == "custom" and dm["status"] == "sent" and dm["attempts"] == 1


def test_send_verification_dm_answers_at_once_while_a_refused_token_holds_sends(api):
    # No job could send this DM later (its token's plaintext is not stored), and the hold
    # lasts until an operator acts: the request fails the DM instead of waiting.
    api.sandbox.accounts.revoke(ACCESS_TOKEN)
    for ig_id, plaintext in (("user-3", "ab" * 32), ("user-4", "cd" * 32)):
        seed.a_verification_token(api.db, ig_id, plaintext)
        response = api.post(
            "/api/internal/send-verification-dm", {"ig_id": ig_id, "token_plain": plaintext}
        )
        assert response.json()["success"] is False, response.text
    rows = api.rows("SELECT status, error FROM outbound_messages ORDER BY created_at")
    assert [r["status"] for r in rows] == ["failed", "failed"]
    assert all("code 190" in r["error"] for r in rows)
    assert api.sandbox.attempts == 1  # the second met the hold and made no call
