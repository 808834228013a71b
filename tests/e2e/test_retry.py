"""`ingest retry-failed` and `ingest replay`: run again by hand, nothing sent twice."""

from __future__ import annotations

import uuid

import pytest

from devtools.sandbox import ScriptedResponse
from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import sending
from service.operations import accounts, requeue, retention
from tests.e2e.test_flows import VERIFICATION_LINK
from tests.support import seed
from tests.support.stack import run_cli

SERVER_ERROR = ScriptedResponse(status=500, body={"error": {"message": "boom", "code": 2}})
USER_UNAVAILABLE = ScriptedResponse(status=400, body={"error": {"message": "gone", "code": 551}})


@pytest.fixture
def failed(db) -> dict[str, object]:
    """Failed DMs of each kind and age, and rows that retry-failed must leave alone."""
    seed.message(db, "m-v")
    return {
        "ack": seed.failed_dm(db, kind="acknowledgement", recipient="user-a", attempts=4),
        "custom": seed.failed_dm(db, kind="custom", recipient="user-b", attempts=1),
        "verification": seed.failed_dm(
            db, kind="verification", recipient="user-v", message_id="m-v"
        ),
        "old": seed.failed_dm(db, kind="acknowledgement", recipient="user-c", minutes_ago=180),
        # Its token's plaintext was never stored: no job can send it again.
        "tokenless": seed.failed_dm(db, kind="verification", recipient="user-t"),
        "sent": seed.outbound(db, kind="custom", status="sent", recipient="user-a"),
    }


async def in_runtime(env: dict[str, str], operation):
    """Run `operation(rt)` in this process, on a runtime opened from `env`."""
    async with open_runtime(Settings.from_mapping(env)) as rt:
        return await operation(rt)


def statuses(db) -> dict[object, tuple]:
    rows = db.execute("SELECT id, status, attempts, retry_base FROM outbound_messages").fetchall()
    return {row["id"]: (row["status"], row["attempts"], row["retry_base"]) for row in rows}


def send_jobs(db) -> list[str]:
    rows = db.execute(
        "SELECT args->>'outbound_id' AS id FROM procrastinate_jobs"
        " WHERE task_name = 'send_outbound' ORDER BY id"
    ).fetchall()
    return sorted(row["id"] for row in rows)


def test_dry_run_lists_what_would_be_requeued_and_changes_nothing(env, db, failed):
    before = statuses(db)
    result = run_cli(env, "retry-failed", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "4 failed DMs would be re-queued (dry run)" in result.stdout
    assert statuses(db) == before
    assert send_jobs(db) == []


async def test_filters_select_by_kind_recipient_and_age(env, db, failed):
    async def would(**filters) -> list:
        requeued = await in_runtime(
            env, lambda rt: requeue.retry_failed(rt, dry_run=True, **filters)
        )
        return sorted(str(dm.id) for dm in requeued.dms)

    def ids(*names: str) -> list:
        return sorted(str(failed[name]) for name in names)

    assert await would(kind="acknowledgement") == ids("ack", "old")
    assert await would(recipient="user-b") == ids("custom")
    assert await would(since_seconds=3600) == ids("ack", "custom", "verification")
    assert await would(since_seconds=3600, kind="verification", recipient="user-v") == ids(
        "verification"
    )
    assert await would(kind="custom", recipient="user-a") == []
    # The console's filters: a part of the error, and one DM by id.
    seed.failed_dm(db, kind="custom", recipient="user-e", error="PermanentGraphError code=551")
    assert len(await would(error="code=551")) == 1
    assert await would(outbound_id=failed["custom"]) == ids("custom")
    assert await would(outbound_id=failed["tokenless"]) == []  # one DM, still the same rules


def test_requeue_sets_pending_with_a_fresh_budget_and_defers_a_send(env, db, failed):
    result = run_cli(env, "retry-failed", "--kind", "acknowledgement", "--since", "1h")
    assert result.returncode == 0, result.stderr
    assert "1 failed DM re-queued" in result.stdout
    row = db.execute("SELECT * FROM outbound_messages WHERE id = %s", (failed["ack"],)).fetchone()
    assert (row["status"], row["attempts"], row["retry_base"]) == ("pending", 4, 4)
    assert row["requeued_at"] is not None
    assert row["error"] == "TransientGraphError http=500: boom"  # until the next attempt
    assert send_jobs(db) == [str(failed["ack"])]
    assert sum(status == "failed" for status, *_ in statuses(db).values()) == 4


def test_requeued_dm_is_sent_again(stack, db):
    stack.sandbox.script(USER_UNAVAILABLE)
    stack.ingest(mid="m-retry", sender_ig_id="user-r")
    [dm] = stack.outbound_settled(1)
    assert (dm["status"], dm["attempts"]) == ("failed", 1)

    result = run_cli(stack.env, "retry-failed")
    assert result.returncode == 0, result.stderr
    [dm] = stack.outbound_settled(1)
    assert (dm["status"], dm["attempts"], dm["retry_base"], dm["error"]) == ("sent", 2, 1, None)
    [sent] = stack.sandbox.messages()
    link = VERIFICATION_LINK.match(sent.text)
    assert link and link["ig_id"] == "user-r"
    assert len(stack.rows("SELECT * FROM verification_tokens")) == 1


@pytest.mark.parametrize(("retry_base", "outcome"), [(0, "failed"), (4, "pending")])
async def test_retry_budget_counts_from_the_last_requeue(env, db, sandbox, retry_base, outcome):
    """After 4 calls the default budget (1 + 3 retries) is spent, unless re-queued since."""
    dm_id = seed.outbound(db, kind="custom", status="pending", attempts=4)
    db.execute("UPDATE outbound_messages SET retry_base = %s", (retry_base,))
    sandbox.script(SERVER_ERROR)

    async def send() -> None:
        await in_runtime(env, lambda rt: sending.send_outbound(rt, dm_id))

    if outcome == "pending":
        with pytest.raises(sending.RetryLater):
            await send()
    else:
        await send()
    row = db.execute("SELECT status, attempts FROM outbound_messages").fetchone()
    assert (row["status"], row["attempts"]) == (outcome, 5)


async def test_replay_runs_processing_again_without_a_second_dm(stack, db):
    stack.ingest(mid="m-replay", sender_ig_id="user-late")
    stack.outbound_settled(1)
    result = run_cli(stack.env, "replay", "m-replay")
    assert result.returncode == 0, result.stderr
    assert "message m-replay queued to be decided again" in result.stdout
    stack.wait_decided("m-replay")
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1

    # Connected since: a replay now acknowledges and hands the message to Phase 3, once.
    await accounts.connect(stack.settings, "user-late", uuid.uuid4())
    for _ in range(2):
        await in_runtime(stack.env, lambda rt: requeue.replay(rt, "m-replay"))
        stack.wait_decided("m-replay")
        dms = stack.outbound_settled(2)
    assert sorted(dm["kind"] for dm in dms) == ["acknowledgement", "verification"]
    assert len(stack.sandbox.messages()) == 2
    assert len(stack.rows("SELECT * FROM phase3_queue WHERE message_id = 'm-replay'")) == 1
    [message] = stack.rows("SELECT * FROM messages")
    assert message["processed"] is True


def test_replay_of_an_unknown_message_fails(env):
    result = run_cli(env, "replay", "no-such-mid")
    assert result.returncode == 1
    assert "no message with mid 'no-such-mid'" in result.stderr


async def test_replay_after_retention_removed_the_done_phase3_row_queues_nothing_again(stack, db):
    await accounts.connect(stack.settings, "user-kept", uuid.uuid4())
    stack.ingest(mid="m-aged", sender_ig_id="user-kept")
    stack.wait_decided("m-aged")
    stack.outbound_settled(1)
    db.execute(
        "UPDATE phase3_queue SET status = 'done', completed_at = now() - interval '31 days'"
        " WHERE message_id = 'm-aged'"
    )
    assert await in_runtime(stack.env, retention.remove_done_phase3_rows) == 1

    result = run_cli(stack.env, "replay", "m-aged")
    assert result.returncode == 0, result.stderr
    stack.wait_decided("m-aged")
    assert stack.rows("SELECT * FROM phase3_queue") == []
    [message] = stack.rows("SELECT processed FROM messages")
    assert message["processed"] is True
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1


def test_dms_whose_delivery_is_unknown_are_requeued_only_when_asked(env, db, failed):
    interrupted = seed.failed_dm(db, recipient="user-i", error=sending.INTERRUPTED, attempts=4)
    orphaned = seed.failed_dm(db, recipient="user-o", error=sending.ORPHANED, attempts=1)

    result = run_cli(env, "retry-failed")
    assert result.returncode == 0, result.stderr
    assert "4 failed DMs re-queued" in result.stdout
    assert "2 failed DMs whose delivery is unknown left out (--include-unknown" in result.stdout
    assert statuses(db)[interrupted][0] == statuses(db)[orphaned][0] == "failed"
    assert str(interrupted) not in send_jobs(db) and str(orphaned) not in send_jobs(db)

    result = run_cli(env, "retry-failed", "--include-unknown")
    assert result.returncode == 0, result.stderr
    assert "2 failed DMs re-queued" in result.stdout
    assert statuses(db)[interrupted][0] == statuses(db)[orphaned][0] == "pending"
    assert {str(interrupted), str(orphaned)} <= set(send_jobs(db))


def test_requeue_commits_in_batches_not_one_transaction_for_every_row(env, db, failed):
    dry = run_cli(env, "retry-failed", "--batch-size", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "4 failed DMs would be re-queued (dry run)" in dry.stdout

    result = run_cli(env, "retry-failed", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    assert "4 failed DMs re-queued" in result.stdout
    # xmin is the transaction that last wrote a row: 4 rows, 2 per transaction.
    rows = db.execute(
        "SELECT xmin::text AS tx FROM outbound_messages WHERE status = 'pending'"
    ).fetchall()
    assert len(rows) == 4 and len({row["tx"] for row in rows}) == 2
    assert len(send_jobs(db)) == 4
