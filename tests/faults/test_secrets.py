"""No secret and no verification token plaintext in the database or in any log line of a
full flow, errors included."""

from __future__ import annotations

import re

import httpx

from tests.support import seed
from tests.support.stack import ACCESS_TOKEN, SERVICE_TOKEN

APP_SECRET = "app-secret-5f1d0c9a7e"
WEBHOOK_TOKEN = "webhook-verify-token-81c2"
CALLER_PLAINTEXT = "caller-plaintext-token-3e9b"


def dump(stack) -> str:
    """Every row of every table, as text."""
    tables = stack.rows(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
    )
    lines = []
    for table in tables:
        name = table["table_name"]
        lines += [
            r["row"] for r in stack.rows(f'SELECT row_to_json(t)::text AS row FROM "{name}" t')
        ]
    return "\n".join(lines)


def test_no_secret_reaches_the_database_or_the_logs(faults, sandbox):
    stack = faults(
        INSTAGRAM_APP_SECRET=APP_SECRET,
        INSTAGRAM_WEBHOOK_VERIFICATION_TOKEN=WEBHOOK_TOKEN,
        LOG_LEVEL="DEBUG",
    )
    web = stack.start_web()
    worker = stack.start_worker()
    with stack.db() as db:
        seed.a_connected_sender(db, "connected-user")
    stack.post_event("secret-1", "unconnected-user")
    stack.post_event("secret-2", "connected-user")
    stack.wait_all_done(["secret-1", "secret-2"])

    def call(path: str, body: dict, token: str = SERVICE_TOKEN) -> httpx.Response:
        return httpx.post(
            f"{stack.web_url}/api/internal/{path}",
            json=body,
            headers={"x-service-token": token},
            timeout=30,
        )

    assert call("send-dm", {"ig_id": "connected-user", "message_text": "hey"}).status_code == 200
    assert call("generate-verification", {"ig_id": "u2", "event_id": "e2"}).status_code == 200
    assert (
        call("send-verification-dm", {"ig_id": "u2", "token_plain": CALLER_PLAINTEXT}).status_code
        == 404
    )
    assert call("send-dm", {"ig_id": "x", "message_text": "y"}, token=APP_SECRET).status_code == 401
    tokens = [
        m["token"]
        for m in (re.search(r"token=(?P<token>[0-9a-f]{64})", dm.text) for dm in sandbox.messages())
        if m
    ]
    assert len(tokens) == 1
    web.terminate()
    worker.terminate()

    stored, logged = dump(stack), web.output() + worker.output()
    assert "secret-1" in stored and "request" in logged and "send_outbound" in logged
    for secret in [
        SERVICE_TOKEN,
        ACCESS_TOKEN,
        APP_SECRET,
        WEBHOOK_TOKEN,
        CALLER_PLAINTEXT,
        *tokens,
    ]:
        assert secret not in stored, secret
        assert secret not in logged, secret
    print(
        f"\n[secrets] {len(stored.splitlines())} rows and {len(logged.splitlines())} log lines"
        f" searched: no secret, no token plaintext"
    )
