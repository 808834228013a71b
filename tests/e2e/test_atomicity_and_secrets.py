"""What must never happen: a job without its message (or the reverse), a second DM for
one event, or a token's plaintext anywhere in the database."""

from __future__ import annotations

from service.core import jobs
from tests.e2e.test_flows import VERIFICATION_LINK
from tests.support import seed


def test_a_failed_defer_leaves_neither_message_nor_job(env, sandbox, db):
    from tests.support.stack import Stack

    # The job's insert fails inside the statement that stores the message (its profile
    # upsert and its defer are the same statement): nothing of it may remain.
    db.execute(
        """
        CREATE FUNCTION refuse_job() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the job table refuses this job'; END $$;
        CREATE TRIGGER refuse_job BEFORE INSERT ON procrastinate_jobs
        FOR EACH ROW EXECUTE FUNCTION refuse_job();
        """
    )
    with Stack(env, sandbox, db, worker=False) as api:
        response = api.ingest(mid="m-rollback", sender_ig_id="user-rollback")
        assert response.status_code == 500
        assert api.rows("SELECT * FROM messages") == []
        assert api.rows("SELECT * FROM instagram_profiles") == []
        assert api.rows("SELECT * FROM procrastinate_jobs") == []
        db.execute("DROP TRIGGER refuse_job ON procrastinate_jobs")
        assert api.ingest(mid="m-rollback", sender_ig_id="user-rollback").status_code == 202
        [job] = api.rows("SELECT args FROM procrastinate_jobs")
        assert job["args"] == {"mid": "m-rollback"}


def dump(db) -> str:
    """Every row of every table, as text: what a database dump would hold."""
    tables = db.execute(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
    ).fetchall()
    text = []
    for t in tables:
        rows = db.execute(f'SELECT t::text AS row FROM "{t["schemaname"]}"."{t["tablename"]}" t')
        text.extend(r["row"] for r in rows)
    return "\n".join(text)


def test_no_token_plaintext_anywhere_in_the_database_or_logs(stack, db, caplog):
    caplog.set_level("INFO")
    stack.sandbox.script({"status": 500, "body": {"error": {"message": "x", "code": 2}}})
    stack.ingest(mid="m-1", sender_ig_id="user-1")
    stack.outbound_settled(1)
    [sent] = stack.sandbox.messages()
    plaintext = VERIFICATION_LINK.match(sent.text)["token"]
    everything = dump(db)
    assert "verification" in everything  # the dump does hold the outbound row
    assert plaintext not in everything
    assert plaintext not in stack.worker.output()
    assert "sandbox DM to user-1" in caplog.text and plaintext not in caplog.text


def test_one_sender_many_messages_at_once_get_one_verification_dm(stack, db):
    for n in range(8):
        assert stack.ingest(mid=f"burst-{n}", sender_ig_id="user-burst").status_code == 202
    for n in range(8):
        stack.wait_decided(f"burst-{n}")
    [dm] = stack.outbound_settled(1)
    assert dm["kind"] == "verification"
    assert len(stack.sandbox.messages()) == 1


def test_deciding_a_message_twice_sends_one_dm(stack, db):
    seed.a_connected_sender(db, "user-1")
    stack.ingest(mid="m-twice", sender_ig_id="user-1")
    stack.wait_decided("m-twice")
    # Run the job again, as a rescued or replayed job would.
    db.execute("UPDATE messages SET decided_at = NULL")
    db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
        "VALUES ('messages', 'decide_message', '{\"mid\": \"m-twice\"}')"
    )
    stack.wait_decided("m-twice")
    stack.outbound_settled(1)
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1
    assert len(stack.sandbox.messages()) == 1
    assert len(stack.rows("SELECT * FROM phase3_queue")) == 1


def test_a_job_queued_under_the_decisions_former_name_still_runs(stack, db):
    """`process_message` was the decision's task name before migration 0024: a job queued
    under it before an upgrade, or by a web process not yet upgraded, is decided all the same."""
    seed.a_connected_sender(db, "user-1")
    db.execute(
        'INSERT INTO messages (id, sender_ig_id, recipient_ig_id, "timestamp")'
        " VALUES ('m-old-name', 'user-1', %s, now())",
        (seed.ACCOUNT,),
    )
    db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
        "VALUES ('messages', %s, '{\"mid\": \"m-old-name\"}')",
        (jobs.DECIDE_MESSAGE_FORMERLY,),
    )
    stack.wait_decided("m-old-name")
    stack.outbound_settled(1)
    assert len(stack.sandbox.messages()) == 1
