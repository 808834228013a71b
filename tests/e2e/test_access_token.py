"""The token lifecycle with real worker processes: a refresh by the periodic job reaches a
running worker, a refused token (code 190) holds every send until `ingest token set`, and
the commands an operator runs."""

from __future__ import annotations

import json
import os
import subprocess

from cryptography.fernet import Fernet

from service.core import jobs
from tests.support.processes import INGEST
from tests.support.stack import ACCESS_TOKEN, ROOT, SCOPED_ID, run_cli
from tests.support.tokens import age_token, tables_holding, token_row
from workers import tasks

NEW_TOKEN = "test-access-token-replaced-0987654321"


def run_job(stack, task: str) -> None:
    app = jobs.make_app(stack.env["DATABASE_URL"])
    with app.open():
        job_id = app.configure_task(task, queue=jobs.QUEUE_MAINTENANCE).defer(timestamp=0)
    stack.wait(
        lambda: stack.rows(
            "SELECT 1 FROM procrastinate_jobs WHERE id = %s AND status = 'succeeded'", job_id
        ),
        what=f"{task} to succeed",
    )


def token_set(env: dict[str, str], token: str) -> subprocess.CompletedProcess:
    """`ingest token set`, the token on stdin as a script would pipe it."""
    return subprocess.run(
        [*INGEST, "token", "set"],
        cwd=ROOT,
        env={**os.environ, **env},
        input=f"{token}\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def checks(env: dict[str, str]) -> tuple[int, dict[str, dict]]:
    done = run_cli(env, "status", "--json")
    report = json.loads(done.stdout)
    return done.returncode, {check["name"]: check for check in report["checks"]}


def retries_of(stack, mid: str) -> int:
    """How often the message's DM was put off to wait: its job's retries, and the jobs of
    its own it was handed to when it met the hold beside others (`batch_sending`)."""
    [row] = stack.rows(
        "SELECT count(*) AS n FROM procrastinate_events e"
        " JOIN procrastinate_jobs j ON j.id = e.job_id"
        " WHERE (j.args ->> 'mid' = %s OR j.args ->> 'outbound_id' IN"
        "        (SELECT id::text FROM outbound_messages WHERE message_id = %s))"
        " AND (e.type = 'deferred_for_retry'"
        "      OR (e.type = 'deferred' AND j.task_name = 'send_outbound'))",
        mid,
        mid,
    )
    return row["n"]


def test_the_periodic_refresh_reaches_a_running_worker_without_a_restart(stack, db):
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    stack.sandbox.wait_for_messages(1)
    assert stack.sandbox.accounts.send_tokens == [ACCESS_TOKEN]

    age_token(db, issued_days_ago=51, expires_in_days=9)
    run_job(stack, tasks.REFRESH_ACCESS_TOKEN)
    [refreshed] = stack.sandbox.accounts.issued
    assert token_row(db)["source"] == "refresh"

    # The worker reads the stored token again once its cache has expired: each try is a
    # new message, and the first DM sent after that carries the refreshed token.
    sent = [1]

    def next_dm_uses_the_refreshed_token() -> bool:
        sent[0] += 1
        stack.ingest(mid=f"m-{sent[0]}", sender_ig_id=f"user-{sent[0]}")
        stack.sandbox.wait_for_messages(sent[0])
        return stack.sandbox.accounts.send_tokens[-1] == refreshed

    stack.wait(next_dm_uses_the_refreshed_token, what="a DM sent with the refreshed token")
    assert tables_holding(db, refreshed) == []
    logged = stack.worker.output()
    assert "refresh_access_token" in logged
    assert refreshed not in logged and ACCESS_TOKEN not in logged


def test_a_refused_token_holds_every_send_until_a_new_one_is_set(stack, db):
    stack.sandbox.accounts.revoke(ACCESS_TOKEN)
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    stack.wait(
        lambda: (token_row(db) or {}).get("invalid_at"), what="the token to be marked refused"
    )
    stack.ingest(mid="m-2", sender_ig_id="user-2")
    # The second DM's job has met the hold twice, and made no call.
    stack.wait(lambda: retries_of(stack, "m-2") >= 2, what="m-2 to be held")
    assert stack.sandbox.attempts == 1
    rows = stack.rows("SELECT status, attempts, retry_base FROM outbound_messages")
    assert sorted(r["status"] for r in rows) == ["pending", "pending"]

    code, found = checks(stack.env)
    assert code == 1 and not found["access_token_invalid"]["ok"]
    assert "code 190" in found["access_token_invalid"]["detail"]

    done = token_set(stack.env, NEW_TOKEN)
    assert done.returncode == 0, done.stderr
    assert NEW_TOKEN not in done.stdout + done.stderr

    settled = stack.outbound_settled(2)
    by_recipient = {r["recipient_ig_id"]: r for r in settled}
    assert by_recipient["user-1"]["status"] == "sent"
    # The refused call is counted, but not against the DM's retry budget.
    assert (by_recipient["user-1"]["attempts"], by_recipient["user-1"]["retry_base"]) == (2, 1)
    assert (by_recipient["user-2"]["status"], by_recipient["user-2"]["attempts"]) == ("sent", 1)
    assert stack.sandbox.accounts.send_tokens[-2:] == [NEW_TOKEN, NEW_TOKEN]
    assert token_row(db)["invalid_at"] is None
    assert checks(stack.env)[1]["access_token_invalid"]["ok"]
    assert tables_holding(db, NEW_TOKEN) == []


def test_token_status_shows_age_expiry_and_the_last_refresh(stack, db):
    age_token(db, issued_days_ago=51, expires_in_days=9)
    run_job(stack, tasks.REFRESH_ACCESS_TOKEN)
    done = run_cli(stack.env, "token", "status", "--json")
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert shown["scoped_id"] == SCOPED_ID and shown["source"] == "refresh"
    assert shown["age_days"] < 0.1 and 59 < shown["expires_in_days"] <= 60
    assert shown["last_refresh"] is not None and shown["last_refresh_outcome"] == "succeeded"
    assert ACCESS_TOKEN not in done.stdout
    # The hourly refresh (at :23) may have run beside this one: no token issued is shown.
    issued = stack.sandbox.accounts.issued
    assert issued and not any(token in done.stdout for token in issued)


def test_new_key_prints_a_fernet_key_and_set_takes_no_argument(env):
    done = run_cli({}, "token", "new-key")
    assert done.returncode == 0
    Fernet(done.stdout.strip().encode())
    refused = run_cli(env, "token", "set", NEW_TOKEN)
    assert refused.returncode == 2 and "unrecognized arguments" in refused.stderr


def test_check_remote_fails_on_no_subscription_and_subscribe_fixes_it(env, sandbox, db):
    done = run_cli(env, "status", "--check-remote", "--json")
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    [check] = [c for c in report["checks"] if c["name"] == "webhook_subscription"]
    assert not check["ok"] and "no app is subscribed" in check["detail"]

    subscribed = run_cli(env, "subscribe")
    assert subscribed.returncode == 0, subscribed.stderr
    assert 'Meta answered: {"success": true}' in subscribed.stdout
    assert "messages" in sandbox.accounts.subscriptions()[SCOPED_ID]

    again = run_cli(env, "status", "--check-remote", "--json")
    assert again.returncode == 0, again.stdout
    sandbox.accounts.unsubscribe(SCOPED_ID)  # as Meta does after an hour of failures
    assert run_cli(env, "status", "--check-remote").returncode == 1


def test_the_hourly_job_records_a_lost_subscription(stack):
    run_job(stack, tasks.CHECK_WEBHOOK_SUBSCRIPTION)
    [row] = stack.rows("SELECT subscribed, error FROM webhook_subscription_checks")
    assert not row["subscribed"] and "no app is subscribed" in row["error"]
    stack.sandbox.accounts.subscribe(SCOPED_ID, ["messages"])
    run_job(stack, tasks.CHECK_WEBHOOK_SUBSCRIPTION)
    assert stack.rows("SELECT subscribed FROM webhook_subscription_checks") == [
        {"subscribed": True}
    ]
