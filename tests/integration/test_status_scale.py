"""The status queries stay cheap as history grows: with 3M DMs and 3M finished jobs (and
their events), no status query reads a whole table, and the report comes back quickly.

The history is written the fast way, in this test's own database: the tables made
unlogged, their secondary indexes dropped during the load and rebuilt after it, triggers
off. Their plans are then those of any database of that size.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest
from psycopg.rows import dict_row

from service.operations import status
from service.operations.thresholds import Thresholds
from service.store.queries import QUERIES
from tests.support.plans import partial_indexes, whole_table_reads

ROWS = 3_000_000
BIG_TABLES = ("outbound_messages", "procrastinate_jobs", "procrastinate_events")
STATUS_QUERIES = [name for name in QUERIES if name.startswith("status_")]
STATUS_QUERIES.remove("status_configure")

LOAD = [
    # 87 days of DMs, 1 in 100 failed: the newest 1000 within the last 10 minutes, the
    # rest older than 2 hours.
    """
    INSERT INTO outbound_messages
        (id, recipient_ig_id, kind, payload, status, attempts, error, created_at, updated_at)
    SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid,
           'user-' || i %% 50000, (ARRAY['verification', 'acknowledgement', 'custom'])[1 + i %% 3],
           '{"text": "hi"}', CASE WHEN i %% 100 = 0 THEN 'failed' ELSE 'sent' END, 1,
           CASE WHEN i %% 100 = 0 THEN 'boom' END, at, at
    FROM generate_series(1, %(rows)s) AS i,
         LATERAL (
             SELECT CASE WHEN i > %(rows)s - 1000 THEN now() - (%(rows)s - i) * interval '0.5 s'
                         ELSE now() - interval '2 hours' - (%(rows)s - i) * interval '2.5 s'
                    END AS at
         ) AS t
    """,
    # A week of finished jobs (retention keeps 7 days), 1 in 200 failed for good...
    """
    INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts)
    SELECT 'messages', 'decide_message', '{}',
           CASE WHEN i %% 200 = 0 THEN 'failed' ELSE 'succeeded' END::procrastinate_job_status, 1
    FROM generate_series(1, %(rows)s) AS i
    """,
    # ...each with the event that finished it, placed as the DMs are...
    """
    INSERT INTO procrastinate_events (job_id, type, at)
    SELECT id, status::text::procrastinate_job_event_type,
           CASE WHEN id > %(rows)s - 1000 THEN now() - (%(rows)s - id) * interval '0.5 s'
                ELSE now() - interval '2 hours' - (%(rows)s - id) * interval '0.2 s'
           END
    FROM procrastinate_jobs
    """,
    # ...and a live queue: jobs waiting and running.
    """
    INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, scheduled_at)
    SELECT 'messages', 'decide_message', '{}',
           (ARRAY['todo', 'doing'])[1 + i %% 2]::procrastinate_job_status,
           now() - interval '1 minute'
    FROM generate_series(1, 200) AS i
    """,
]


@pytest.fixture
def history(db) -> None:
    db.execute("SET session_replication_role = replica")  # no triggers, no FK checks
    db.execute("SET maintenance_work_mem = '256MB'")
    indexes = db.execute(
        "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = ANY(%s)"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
        (list(BIG_TABLES),),
    ).fetchall()
    # Those that reference the others first: a logged table cannot reference an unlogged one.
    for table in (
        "idempotency_keys",
        "procrastinate_periodic_defers",
        "procrastinate_events",
        *BIG_TABLES,
    ):
        db.execute(f"ALTER TABLE {table} SET UNLOGGED")
    for index in indexes:
        db.execute(f"DROP INDEX {index['indexname']}")
    for statement in LOAD:
        db.execute(statement, {"rows": ROWS})
    for index in indexes:
        db.execute(index["indexdef"])
    db.execute(f"ANALYZE {', '.join(BIG_TABLES)}")


def test_no_status_query_reads_a_whole_big_table(db, database_url, history):
    partial = partial_indexes(db)
    plans = {
        name: db.execute(f"EXPLAIN (FORMAT JSON) {QUERIES[name]}").fetchone()["QUERY PLAN"][0]
        for name in STATUS_QUERIES
    }
    read_in_full = {
        name: reads
        for name, plan in plans.items()
        if (reads := whole_table_reads(plan["Plan"], partial, BIG_TABLES))
    }
    assert read_in_full == {}

    async def report() -> dict:
        async with await psycopg.AsyncConnection.connect(
            database_url, row_factory=dict_row, autocommit=True
        ) as conn:
            return await status.collect(conn, Thresholds(), statement_timeout=5)

    started = time.monotonic()
    collected = asyncio.run(report())
    assert time.monotonic() - started < 5
    jobs = {row["status"]: row["jobs"] for row in collected["jobs"]}
    # Every live job, and the jobs finished within the window (an hour).
    assert jobs == {"todo": 100, "doing": 100, "succeeded": 995, "failed": 5}
    dms = dict.fromkeys(("sent", "failed"), 0)
    for row in collected["outbound"]:
        dms[row["status"]] += row["dms"]
    assert dms == {"sent": 990, "failed": 10}
    assert len(collected["outbound_failed"]) == 20
