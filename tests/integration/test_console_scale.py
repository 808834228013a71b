"""The console's pages stay quick as history grows: on a database with 100,000 messages (and
their DMs, jobs, events, webhook deliveries and Phase 3 rows), no console query reads a
whole big table, and every page answers quickly.

Each query is planned with the values a page passes (a known mid, a user, a keyset cursor),
the way it runs. The rows are written in bulk with triggers off, then analysed.
"""

from __future__ import annotations

import re
import time

import pytest
from litestar.testing import TestClient

from service.core.settings import Settings
from service.http.app import create_app
from service.store.queries import QUERIES
from tests.support.plans import partial_indexes, whole_table_reads
from tests.support.stack import make_env

ROWS = 100_000
BIG_TABLES = (
    "messages",
    "outbound_messages",
    "procrastinate_jobs",
    "procrastinate_events",
    "webhook_deliveries",
    "phase3_queue",
)
PASSWORD = "console-password-0123456789"
MID = "mid-50000"
USER = "user-140000"  # its sender, of every 10 000th message: 10 of them
LOAD = [
    # 30 days of messages from 10 000 senders, the newest within the last day.
    """
    INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, "timestamp",
                          processed, decided_at, created_at)
    SELECT 'mid-' || i, 'user-' || (i %% 10000 + 140000), 'page', 'hello ' || i, at, true, at, at
    FROM generate_series(1, %(rows)s) AS i,
         LATERAL (SELECT now() - (%(rows)s - i) * interval '13 s' AS at) AS t
    """,
    # One DM per message, 1 in 50 failed.
    """
    INSERT INTO outbound_messages (recipient_ig_id, kind, payload, status, attempts, error,
                                   message_id, created_at, updated_at)
    SELECT sender_ig_id, 'verification', '{"text": "hi"}',
           CASE WHEN right(id, 2) = '00' OR right(id, 2) = '50' THEN 'failed' ELSE 'sent' END,
           1, CASE WHEN right(id, 2) IN ('00', '50') THEN 'PermanentGraphError code=100' END,
           id, created_at, created_at
    FROM messages
    """,
    # Each message's processing job and each DM's send job, with their events.
    """
    INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, attempts)
    SELECT 'messages', 'decide_message', jsonb_build_object('mid', id),
           'succeeded'::procrastinate_job_status, 1
    FROM messages
    UNION ALL
    SELECT 'outbound', 'send_outbound', jsonb_build_object('outbound_id', id::text),
           'succeeded'::procrastinate_job_status, 1
    FROM outbound_messages WHERE right(message_id, 1) = '7'
    """,
    """
    INSERT INTO procrastinate_events (job_id, type, at)
    SELECT id, kind::procrastinate_job_event_type,
           now() - (%(rows)s - id %% %(rows)s) * interval '13 s'
    FROM procrastinate_jobs, unnest(ARRAY['deferred', 'succeeded']) AS kind
    """,
    # A webhook delivery per 4 messages, 1 in 500 failed.
    """
    INSERT INTO webhook_deliveries (body, signed, received_at, status, attempts, last_attempt_at)
    SELECT jsonb_build_object('object', 'instagram', 'entry', jsonb_build_array(
               jsonb_build_object('id', 'page', 'time', 0, 'messaging', (
                   SELECT jsonb_agg(jsonb_build_object(
                       'sender', jsonb_build_object('id', 'user-' || (m %% 10000 + 140000)),
                       'message', jsonb_build_object('mid', 'mid-' || m, 'text', 'hello')))
                   FROM generate_series(d * 4 - 3, d * 4) AS m)))),
           true, now() - (%(rows)s / 4 - d) * interval '52 s',
           CASE WHEN d %% 500 = 0 THEN 'failed' ELSE 'forwarded' END, 1, now()
    FROM generate_series(1, %(rows)s / 4) AS d
    """,
    # Half the messages reached Phase 3, nearly all of them done.
    """
    INSERT INTO phase3_queue (message_id, ig_id, connected_user_id, status, completed_at)
    SELECT id, sender_ig_id, gen_random_uuid(),
           CASE WHEN right(id, 3) = '000' THEN 'queued' ELSE 'done' END, now()
    FROM messages WHERE right(id, 1) IN ('0', '2', '4', '6', '8')
    """,
]


@pytest.fixture
def history(db) -> None:
    db.execute("SET session_replication_role = replica")  # no triggers, no FK checks
    db.execute("SET maintenance_work_mem = '256MB'")
    for statement in LOAD:
        db.execute(statement, {"rows": ROWS})
    db.execute(f"VACUUM ANALYZE {', '.join(BIG_TABLES)}")


def plan_parameters(db) -> dict[str, dict]:
    dm = db.execute(
        "SELECT id, updated_at FROM outbound_messages WHERE status = 'failed'"
        " ORDER BY updated_at DESC, id DESC OFFSET 60 LIMIT 1"
    ).fetchone()
    delivery = db.execute(
        "SELECT id, received_at FROM webhook_deliveries WHERE status = 'failed'"
        " ORDER BY received_at DESC LIMIT 1"
    ).fetchone()
    jobs = [r["id"] for r in db.execute("SELECT id FROM procrastinate_jobs LIMIT 3")]
    message = db.execute('SELECT "timestamp" FROM messages WHERE id = %s', (MID,)).fetchone()
    none = {
        "kind": None,
        "error": None,
        "since_seconds": None,
        "account": None,
        "environment": None,
    }
    return {
        "console_message": {"mid": MID},
        "console_message_content": {"mid": MID},
        "console_message_deliveries": {"mid": MID},
        "console_message_dms": {"mid": MID},
        "console_message_jobs": {"mid": MID, "outbound_ids": [str(dm["id"])]},
        "console_job_events": {"job_ids": jobs},
        "console_message_phase3": {"mid": MID},
        "console_profile": {"ig_id": USER},
        "console_profile_by_username": {"username": "someone"},
        "console_user_messages": {
            "ig_id": USER,
            "limit": 21,
            "before_ts": message["timestamp"],
            "before_id": MID,
        },
        "console_user_dms": {"ig_id": USER, "limit": 20},
        "console_failed_dms": {
            **none,
            "account": "17841400000000002",
            "environment": "17841400000000001",
            "limit": 51,
            "before_at": dm["updated_at"],
            "before_id": dm["id"],
        },
        "console_failed_deliveries": {
            "limit": 51,
            "before_at": delivery["received_at"],
            "before_id": delivery["id"],
        },
        "console_rate_limits": {},
        "console_activity": {},
    }


def test_no_console_query_reads_a_whole_big_table_and_pages_answer_quickly(
    database_url, sandbox, db, history
):
    parameters = plan_parameters(db)
    assert set(parameters) == {name for name in QUERIES if name.startswith("console_")}
    partial = partial_indexes(db)
    read_in_full = {}
    for name, params in parameters.items():
        [[plan]] = db.execute(f"EXPLAIN (FORMAT JSON) {QUERIES[name]}", params).fetchone().values()
        if reads := whole_table_reads(plan["Plan"], partial, BIG_TABLES):
            read_in_full[name] = reads
    assert read_in_full == {}

    # And through HTTP, every page quickly.
    env = make_env(database_url=database_url, graph_url=sandbox.url, CONSOLE_PASSWORD=PASSWORD)
    pages = (
        "/console",
        f"/console/message?mid={MID}",
        f"/console/user?ig_id={USER}",
        "/console/failures",
        "/console/failures?kind=verification&error=code%3D100&since=7d",
        "/console/requeue?since=1h",
    )
    with TestClient(create_app(Settings.from_mapping(env))) as client:
        login = client.get("/console/login").text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', login)[1]
        client.post(
            "/console/login",
            data={"_csrf_token": token, "operator": "ada", "password": PASSWORD},
        )
        timings = {}
        for path in pages:
            client.get(path)  # the first answer compiles templates and warms the pool
            started = time.monotonic()
            answer = client.get(path)
            timings[path] = time.monotonic() - started
            assert answer.status_code == 200, (path, answer.text[:300])
    print({path: f"{seconds * 1000:.0f} ms" for path, seconds in timings.items()})
    # The target is 300 ms on 1M messages; this machine runs other work beside the test.
    slow = {path: seconds for path, seconds in timings.items() if seconds > 1.0}
    assert slow == {}
