"""Reconciling with the Conversations API end to end: the sandbox keeps every message in its
conversations and loses some webhooks; `ingest reconcile` and the worker's runs recover
them through the webhook's own path, a real worker deciding and sending."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support import seed
from tests.support.lost_webhooks import deliver, deliver_late, lose
from tests.support.pg import ROOT
from tests.support.stack import SCOPED_ID, Stack, run_cli, wait_until


def reconcile(stack, *args: str) -> str:
    done = run_cli(stack.env, "reconcile", *args, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sources(stack) -> dict[str, str]:
    return {row["id"]: row["source"] for row in stack.rows("SELECT id, source FROM messages")}


def test_lost_messages_are_recovered_and_answered_as_delivered_ones(webhook_stack, db):
    stack = webhook_stack
    user_id = seed.a_connected_sender(db, "connected-1")
    deliver(stack, "mid.delivered", "delivered-1")
    lose(stack, "mid.lost-unconnected", "unconnected-1")
    lose(stack, "mid.lost-connected", "connected-1", "a reel")

    out = reconcile(stack)

    assert "3 conversations read, 3 messages seen, 1 already stored, 2 recovered, 0 gaps" in out
    assert sources(stack) == {
        "mid.delivered": "messaging",
        "mid.lost-unconnected": "reconciled",
        "mid.lost-connected": "reconciled",
    }
    dms = {dm["recipient_ig_id"]: dm for dm in stack.outbound_settled(3)}
    assert {r: (dm["kind"], dm["status"]) for r, dm in dms.items()} == {
        "delivered-1": ("verification", "sent"),
        "unconnected-1": ("verification", "sent"),
        "connected-1": ("acknowledgement", "sent"),
    }
    [queued] = stack.rows("SELECT * FROM phase3_queue")
    assert queued["message_id"] == "mid.lost-connected"
    assert queued["connected_user_id"] == user_id
    assert len(stack.sandbox.messages()) == 3
    assert stack.sandbox.conversations.refused == 0


def test_a_second_run_and_a_late_webhook_change_nothing(webhook_stack):
    stack = webhook_stack
    lost = lose(stack, "mid.lost", "unconnected-1")
    assert "1 recovered" in reconcile(stack)
    [dm] = stack.outbound_settled(1)

    assert "0 recovered" in reconcile(stack, "--since", "1h")
    deliver_late(stack, lost)

    assert sources(stack) == {"mid.lost": "reconciled"}
    assert stack.outbound_settled(1) == [dm]
    assert len(stack.sandbox.messages()) == 1
    assert stack.sandbox.conversations.refused == 0


def test_a_gap_beyond_the_twenty_listed_is_recovered_in_part_and_reported(webhook_stack):
    stack = webhook_stack
    for n in range(25):
        lose(stack, f"mid.{n:02}", "unconnected-1", f"message {n}", minutes_ago=25 - n)

    out = reconcile(stack)

    assert "20 recovered, 1 gaps" in out
    [conversation] = stack.rows("SELECT gap_conversations FROM reconcile_runs")
    assert f"gap in conversation {conversation['gap_conversations'][0]}" in out
    assert sorted(sources(stack)) == [f"mid.{n:02}" for n in range(5, 25)]
    status = run_cli(stack.env, "status", "--json")
    [check] = [
        c for c in json.loads(status.stdout)["checks"] if c["name"] == "reconcile_gaps_in_window"
    ]
    assert check["ok"] is False and check["value"] == 1
    assert conversation["gap_conversations"][0] in check["detail"]
    assert stack.sandbox.conversations.refused == 0


def test_a_message_older_than_the_window_is_stored_and_its_dm_fails_without_a_call(
    webhook_stack,
):
    stack = webhook_stack
    lose(stack, "mid.old", "unconnected-1", minutes_ago=25 * 60)

    assert "1 recovered" in reconcile(stack)

    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "failed" and dm["attempts"] == 0
    assert stack.sandbox.attempts == 0


def test_a_run_killed_half_way_and_the_next_store_every_message_once(webhook_stack):
    stack = webhook_stack
    mids = [f"mid.{n}" for n in range(6)]
    for n, mid in enumerate(mids):
        lose(stack, mid, f"user-{n}")
    command = [sys.executable, "-m", "ingest.cli", "reconcile"]
    killed = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **stack.env})
    try:
        wait_until(lambda: len(sources(stack)) >= 2, timeout=60, what="a run half-way")
    finally:
        killed.kill()
        killed.wait()
    assert len(sources(stack)) < len(mids)

    assert "0 gaps" in reconcile(stack)

    assert sorted(sources(stack)) == mids
    runs = stack.rows("SELECT finished_at, recovered FROM reconcile_runs ORDER BY id")
    assert [run["finished_at"] is None for run in runs] == [True, False]
    assert len(stack.outbound_settled(len(mids))) == len(mids)
    assert stack.sandbox.conversations.refused == 0


def test_ingest_subscribe_queues_a_run_that_the_worker_makes(webhook_stack):
    stack = webhook_stack
    lose(stack, "mid.lost", "unconnected-1")

    done = run_cli(stack.env, "subscribe")
    assert done.returncode == 0, done.stdout + done.stderr

    [run] = stack.wait(
        lambda: stack.rows(
            "SELECT trigger, recovered FROM reconcile_runs WHERE finished_at IS NOT NULL"
        ),
        what="the queued run",
    )
    assert run["trigger"] == "subscribe" and run["recovered"] == 1
    assert sources(stack) == {"mid.lost": "reconciled"}
    [dm] = stack.outbound_settled(1)
    assert dm["recipient_ig_id"] == "unconnected-1" and dm["status"] == "sent"


def test_the_command_refuses_a_malformed_since_an_unknown_account_and_a_refused_token(
    webhook_stack,
):
    stack = webhook_stack
    lose(stack, "mid.lost", "unconnected-1")
    stack.sandbox.accounts.revoke(stack.env["INSTAGRAM_ACCESS_TOKEN"])
    for args, said in (
        (("--since", "36x"), "--since: '36x' is not a duration"),
        (("--account", "999"), "unknown account '999'"),
        ((), f"the access token of account {SCOPED_ID} was refused"),
    ):
        done = run_cli(stack.env, "reconcile", *args)
        assert done.returncode == 2, done
        assert len(done.stderr.strip().splitlines()) == 1 and said in done.stderr, done.stderr
    assert stack.rows("SELECT * FROM reconcile_runs") == []
    assert stack.rows("SELECT * FROM messages") == []


def test_the_command_waits_for_a_run_in_progress_and_then_runs(webhook_stack, db):
    stack = webhook_stack
    lose(stack, "mid.lost", "unconnected-1")
    db.execute("SELECT pg_advisory_lock(hashtextextended('reconcile:' || %s, 0))", (SCOPED_ID,))
    command = [sys.executable, "-m", "ingest.cli", "reconcile"]
    waiting = subprocess.Popen(
        command, cwd=ROOT, env={**os.environ, **stack.env}, stdout=subprocess.PIPE, text=True
    )
    try:
        wait_until(
            lambda: stack.rows(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ),
            timeout=30,
            what="the command to wait for the run in progress",
        )
        assert waiting.poll() is None and sources(stack) == {}
        db.execute(
            "SELECT pg_advisory_unlock(hashtextextended('reconcile:' || %s, 0))", (SCOPED_ID,)
        )
        out, _ = waiting.communicate(timeout=60)
    finally:
        waiting.kill()
    assert waiting.returncode == 0 and "1 recovered" in out
    assert sources(stack) == {"mid.lost": "reconciled"}


def test_every_account_answered_is_reconciled_and_answered_from_its_own(env, sandbox, db):
    other, other_token = "17841400000000002", "test-access-token-other-account-5555"
    sandbox.accounts.add(SCOPED_ID, env["INSTAGRAM_ACCESS_TOKEN"], username="brand_a")
    sandbox.accounts.add(other, other_token, username="brand_b")
    added = run_cli(env, "account", "add", other, stdin=f"{other_token}\n")
    assert added.returncode == 0, added.stderr
    with Stack(env, sandbox, db) as stack:
        lose(stack, "mid.a", "user-a")
        sandbox.conversations.record(other, "user-b", other, "hello", mid="mid.b")

        out = reconcile(stack)

        assert out.count("1 recovered") == 2 and other in out and SCOPED_ID in out
        dms = sandbox.wait_for_messages(2, timeout=30)
    assert {dm.recipient_id: dm.scoped_id for dm in dms} == {"user-a": SCOPED_ID, "user-b": other}
    assert sources(stack) == {"mid.a": "reconciled", "mid.b": "reconciled"}
    assert sandbox.conversations.refused == 0
