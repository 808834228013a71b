"""The internal API's verification sequence as a caller runs it, through HTTP alone:
generate-verification, send-verification-dm for that event, and verify with the token of
the link the user received (read here from the sandbox's inbox, as the user reads the DM)."""

from __future__ import annotations

import hashlib
import re
import uuid

import pytest

GENERATE = "/api/internal/generate-verification"
SEND = "/api/internal/send-verification-dm"
VERIFY = "/api/internal/verify"
EVENT = {"ig_id": "user-9", "event_id": "m-9"}


def link_tokens(api) -> list[str]:
    found = (re.search(r"[?&]token=([0-9a-f]{64})&", dm.text) for dm in api.sandbox.messages())
    return [m.group(1) for m in found if m]


def test_generate_send_and_verify_connect_the_account(api):
    generated = api.post(GENERATE, EVENT)
    assert generated.status_code == 200, generated.text
    sent = api.post(SEND, EVENT)
    assert sent.status_code == 200, sent.text
    assert sent.json()["success"] is True
    [token] = link_tokens(api)
    # The event's token now is the link's: generate-verification answers its hash.
    again = api.post(GENERATE, EVENT).json()
    assert again["token_hash"] == hashlib.sha256(token.encode()).hexdigest()
    user_id = str(uuid.uuid4())
    verified = api.post(VERIFY, {"token": token, "ig_id": "user-9", "user_id": user_id})
    assert verified.status_code == 200, verified.text
    assert verified.json()["success"] is True and verified.json()["user_id"] == user_id


def test_a_second_send_for_the_event_within_the_resend_window_is_409(api):
    api.post(GENERATE, EVENT)
    assert api.post(SEND, EVENT).status_code == 200
    again = api.post(SEND, EVENT)
    assert again.status_code == 409, again.text
    assert len(api.sandbox.messages()) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"ig_id": "user-9", "event_id": "never-generated"},
        {"ig_id": "user-8", "event_id": "m-9"},  # the event's token is another account's
    ],
)
def test_a_send_for_an_event_without_a_token_of_this_account_is_404(api, body):
    api.post(GENERATE, EVENT)
    response = api.post(SEND, body)
    assert response.status_code == 404, response.text
    assert api.sandbox.messages() == []


def test_a_send_for_an_event_whose_token_was_used_is_404(api):
    api.post(GENERATE, EVENT)
    api.post(SEND, {**EVENT})
    [token] = link_tokens(api)
    user_id = str(uuid.uuid4())
    assert api.post(VERIFY, {"token": token, "ig_id": "user-9", "user_id": user_id}).is_success
    response = api.post(SEND, EVENT)
    assert response.status_code == 404, response.text
    assert len(api.sandbox.messages()) == 1


@pytest.mark.parametrize(
    "body",
    [{"ig_id": "user-9"}, {**EVENT, "token_plain": "ab" * 32}],
    ids=["neither", "both"],
)
def test_a_send_names_its_token_by_exactly_one_of_event_id_and_token_plain(api, body):
    api.post(GENERATE, EVENT)
    response = api.post(SEND, body)
    assert response.status_code == 400, response.text
    assert "event_id" in response.json()["detail"]
    assert api.sandbox.messages() == []
