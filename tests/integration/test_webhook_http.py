"""The webhook's HTTP contract with Meta: the handshake, signatures, and what is stored
before any job runs."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import TestClient

from service.core.settings import Settings, SettingsError
from service.http.app import create_app
from service.webhooks.signatures import signature
from tests.support.meta_payloads import delivery, entry, largest_delivery, message_item
from tests.support.stack import APP_SECRET, VERIFY_TOKEN, WEBHOOK

TEXT = delivery(entry(message_item("mid.1", text="Check this reel out!")))


def stored(stack) -> tuple[list[dict], list[dict]]:
    deliveries = stack.rows("SELECT * FROM webhook_deliveries ORDER BY id")
    jobs = stack.rows("SELECT * FROM procrastinate_jobs WHERE task_name = 'forward_delivery'")
    return deliveries, jobs


# --- the subscription handshake ----------------------------------------------------------


def test_the_handshake_echoes_the_challenge_as_plain_text(api):
    response = api.client.get(
        WEBHOOK,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": VERIFY_TOKEN,
            "hub.challenge": "1158201444",
        },
    )
    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


# Each a separate case in one test: a test database per case would cost more than the cases.
BAD_HANDSHAKES = {
    "wrong token": {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "7"},
    "wrong mode": {
        "hub.mode": "unsubscribe",
        "hub.verify_token": VERIFY_TOKEN,
        "hub.challenge": "7",
    },
    "no mode": {"hub.verify_token": VERIFY_TOKEN, "hub.challenge": "7"},
    "no token": {"hub.mode": "subscribe", "hub.challenge": "7"},
    "no challenge": {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN},
    "nothing": {},
}


def test_a_wrong_or_incomplete_handshake_is_403_json_without_the_challenge(api):
    for case, params in BAD_HANDSHAKES.items():
        response = api.client.get(WEBHOOK, params=params)
        assert response.status_code == 403, case
        assert response.json()["status_code"] == 403, case
        assert "7" not in response.text, case


def test_without_a_verify_token_setting_every_handshake_is_refused(env, db):
    env = {**env, "INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN": ""}
    with TestClient(create_app(Settings.from_mapping(env))) as client:
        response = client.get(
            WEBHOOK, params={"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}
        )
    assert response.status_code == 403


# --- signatures --------------------------------------------------------------------------


def test_a_signed_delivery_is_stored_as_received_with_its_job_and_answered_200(api):
    response = api.deliver(TEXT)
    assert response.status_code == 200
    [row], [job] = stored(api)
    assert response.json() == {"success": True, "delivery_id": row["id"], "duplicate": False}
    assert row["body"] == TEXT and row["signed"] is True
    assert row["status"] == "received" and row["attempts"] == 0
    assert job["args"] == {"delivery_id": row["id"]} and job["queue_name"] == "webhooks"


BAD_SIGNATURES = {
    "missing": (None, 401),
    "empty": ("", 401),
    "sha1": ("sha1=" + "0" * 40, 401),
    "not hex": ("sha256=not-hex", 401),
    "short": ("sha256=" + "0" * 63, 401),
    "wrong": ("sha256=" + "0" * 64, 403),
}


def test_a_missing_malformed_or_wrong_signature_stores_nothing(api):
    for case, (header, status) in BAD_SIGNATURES.items():
        response = api.deliver(TEXT, secret=None, signature_header=header)
        assert response.status_code == status, case
        assert response.json()["status_code"] == status, case
    assert stored(api) == ([], [])


def test_a_signature_made_with_another_secret_is_403(api):
    assert api.deliver(TEXT, secret="not-the-app-secret").status_code == 403
    assert stored(api) == ([], [])


def test_the_signature_covers_the_exact_bytes_not_the_json_they_decode_to(api):
    body = json.dumps(TEXT).encode()
    response = api.deliver(
        json.dumps(TEXT, indent=2).encode(), signature_header=signature(APP_SECRET, body)
    )
    assert response.status_code == 403


def test_an_uppercase_hex_signature_is_accepted(api):
    body = json.dumps(TEXT).encode()
    header = "sha256=" + signature(APP_SECRET, body).removeprefix("sha256=").upper()
    assert api.deliver(body, signature_header=header).status_code == 200


# --- bodies ------------------------------------------------------------------------------


NOT_JSON = [
    b"",
    b"{",
    b"not json",
    b"\xff\xfe",
    b"[1,]",
    b"NaN",
    b'"\\ud800"',
    b"[" * 5000 + b"]" * 5000,
]


def test_a_signed_body_that_is_not_json_is_400_and_stores_nothing(api):
    for body in NOT_JSON:
        response = api.deliver(body)
        assert response.status_code == 400, body[:20]
        assert "not valid JSON" in response.json()["detail"], body[:20]
    assert stored(api) == ([], [])


def test_json_that_is_not_an_instagram_delivery_is_still_stored_and_200(api):
    payloads = [[], 1, "x", None, {"object": "page", "entry": []}, {}]
    for payload in payloads:
        assert api.deliver(payload).status_code == 200, payload
    deliveries, jobs = stored(api)
    assert [row["body"] for row in deliveries] == payloads and len(jobs) == len(payloads)


def test_a_nul_character_that_postgres_cannot_hold_is_kept_as_a_replacement(api):
    payload = delivery(entry(message_item("mid.1", text="a\x00b")))
    assert api.deliver(payload).status_code == 200
    [row], _ = stored(api)
    assert row["body"]["entry"][0]["messaging"][0]["message"]["text"] == "a\ufffdb"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
DELIVERY_LIKE = st.fixed_dictionaries(
    {"object": st.just("instagram"), "entry": st.lists(JSON, max_size=3)}
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.one_of(JSON, DELIVERY_LIKE).map(lambda v: json.dumps(v).encode()) | st.binary())
def test_no_signed_body_ever_gets_a_5xx(api, body):
    response = api.deliver(body)
    assert response.status_code in (200, 400), response.text


# --- refusing to run without a way to check signatures ------------------------------------


def test_without_an_app_secret_the_web_app_refuses_to_start(env):
    settings_ = Settings.from_mapping({**env, "INSTAGRAM_APP_SECRET": ""})
    with pytest.raises(SettingsError, match="INSTAGRAM_APP_SECRET"):
        create_app(settings_)


def test_development_mode_accepts_unsigned_posts_and_marks_them(env, db):
    dev = Settings.from_mapping(
        {**env, "INSTAGRAM_APP_SECRET": "", "WEBHOOK_ALLOW_UNSIGNED": "true"}
    )
    with TestClient(create_app(dev)) as client:
        response = client.post(WEBHOOK, json=TEXT)
    assert response.status_code == 200
    [row] = db.execute("SELECT signed FROM webhook_deliveries").fetchall()
    assert row["signed"] is False


def test_with_an_app_secret_unsigned_posts_are_refused_even_in_development(api, env):
    allow = Settings.from_mapping({**env, "WEBHOOK_ALLOW_UNSIGNED": "true"})
    with TestClient(create_app(allow)) as client:
        assert client.post(WEBHOOK, json=TEXT).status_code == 401


def test_a_switch_that_is_neither_true_nor_false_stops_the_process(env):
    with pytest.raises(SettingsError, match="WEBHOOK_ALLOW_UNSIGNED must be true or false"):
        Settings.from_mapping({**env, "WEBHOOK_ALLOW_UNSIGNED": "maybe"})


def test_the_largest_delivery_meta_sends_is_accepted(api):
    # 1000 updates of 1000 escaped characters: 6.3 MB, over the 4 MiB that Litestar
    # allowed every route.
    body = json.dumps(largest_delivery()).encode()
    assert len(body) > 6_000_000
    response = api.deliver(body)
    assert response.status_code == 200, response.text
    [row] = api.rows(
        "SELECT jsonb_array_length(body -> 'entry' -> 0 -> 'messaging') AS n"
        " FROM webhook_deliveries"
    )
    assert row["n"] == 1000
