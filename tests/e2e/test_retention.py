"""Retention: the worker's periodic tasks delete old finished jobs and done Phase 3 rows,
and keep messages and DMs."""

from __future__ import annotations

from service.core import jobs
from tests.support import seed
from tests.support.stack import wait_until
from workers import tasks


def test_periodic_tasks_run_on_the_maintenance_queue(database_url):
    app = jobs.make_app(database_url)
    tasks.register(app)
    periodic = {
        (p.task.name, p.task.queue, p.cron) for p in app.periodic_registry.periodic_tasks.values()
    }
    assert periodic == {
        (tasks.REMOVE_OLD_JOBS, jobs.QUEUE_MAINTENANCE, tasks.RETENTION_CRON),
        (tasks.REMOVE_DONE_PHASE3_ROWS, jobs.QUEUE_MAINTENANCE, tasks.RETENTION_CRON),
        (jobs.PURGE_WEBHOOK_DELIVERIES, jobs.QUEUE_MAINTENANCE, tasks.RETENTION_CRON),
        (tasks.REFRESH_ACCESS_TOKEN, jobs.QUEUE_MAINTENANCE, tasks.TOKEN_REFRESH_CRON),
        (
            tasks.CHECK_WEBHOOK_SUBSCRIPTION,
            jobs.QUEUE_MAINTENANCE,
            tasks.SUBSCRIPTION_CHECK_CRON,
        ),
        (tasks.PURGE_IDEMPOTENCY_KEYS, jobs.QUEUE_MAINTENANCE, tasks.RETENTION_CRON),
        # Each minute it looks whether RECONCILE_INTERVAL_SECONDS has passed.
        (tasks.RECONCILE_DUE, jobs.QUEUE_MAINTENANCE, tasks.RECONCILE_DUE_CRON),
    }
    assert jobs.QUEUE_MAINTENANCE in jobs.QUEUES


def test_retention_deletes_old_finished_jobs_and_done_phase3_rows(stack, db):
    old_jobs = [
        seed.finished_job(db, status=status, days_ago=8)
        for status in ("succeeded", "failed", "cancelled", "aborted")
    ]
    recent = seed.finished_job(db, days_ago=6)
    # Not finished, however old: on a queue no worker here listens to.
    waiting = seed.job(db, queue="elsewhere", minutes_ago=60 * 24 * 30)
    seed.phase3_row(db, "m-done-old", status="done", minutes_ago=60 * 24 * 31)
    seed.phase3_row(db, "m-done-recent", status="done", minutes_ago=60 * 24 * 29)
    seed.phase3_row(db, "m-queued-old", status="queued", minutes_ago=60 * 24 * 31)
    seed.message(db, "m-old", minutes_ago=60 * 24 * 90)
    seed.outbound(db, status="sent", minutes_ago=60 * 24 * 90)

    app = jobs.make_app(stack.env["DATABASE_URL"])
    with app.open():
        retention_jobs = [
            app.configure_task(name, queue=jobs.QUEUE_MAINTENANCE).defer(timestamp=0)
            for name in (tasks.REMOVE_OLD_JOBS, tasks.REMOVE_DONE_PHASE3_ROWS)
        ]
    wait_until(
        lambda: (
            len(
                stack.rows(
                    "SELECT 1 FROM procrastinate_jobs WHERE id = ANY(%s) AND status = 'succeeded'",
                    retention_jobs,
                )
            )
            == 2
        ),
        what="the retention jobs",
    )

    remaining = {
        row["id"]
        for row in stack.rows(
            "SELECT id FROM procrastinate_jobs WHERE queue_name <> %s", jobs.QUEUE_MAINTENANCE
        )
    }
    assert remaining == {recent, waiting}
    assert stack.rows("SELECT * FROM procrastinate_events WHERE job_id = ANY(%s)", old_jobs) == []
    phase3 = {row["message_id"] for row in stack.rows("SELECT message_id FROM phase3_queue")}
    assert phase3 == {"m-done-recent", "m-queued-old"}
    assert len(stack.rows("SELECT * FROM messages")) == 4
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 1


def test_retention_deletes_idempotency_keys_after_a_day(stack, db):
    for key, hours_ago in (("a", 25), ("b", 23)):
        dm_id = seed.outbound(db, kind="custom", minutes_ago=hours_ago * 60)
        db.execute(
            "INSERT INTO idempotency_keys (key_hash, request_hash, outbound_message_id,"
            " created_at) VALUES (repeat(%s, 64), repeat('0', 64), %s,"
            " now() - make_interval(hours => %s))",
            (key, dm_id, hours_ago),
        )
    app = jobs.make_app(stack.env["DATABASE_URL"])
    with app.open():
        job_id = app.configure_task(
            tasks.PURGE_IDEMPOTENCY_KEYS, queue=jobs.QUEUE_MAINTENANCE
        ).defer(timestamp=0)
    wait_until(
        lambda: stack.rows(
            "SELECT 1 FROM procrastinate_jobs WHERE id = %s AND status = 'succeeded'", job_id
        ),
        what="the idempotency keys' retention job",
    )
    assert stack.rows("SELECT key_hash FROM idempotency_keys") == [{"key_hash": "b" * 64}]
    assert len(stack.rows("SELECT * FROM outbound_messages")) == 2
