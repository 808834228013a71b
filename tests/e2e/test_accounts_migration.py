"""A deployment of one account upgrades with no manual step: a database written by the
migrations before accounts existed, with the rows that service wrote, migrated, keeps
answering the environment's account as before, its earlier DMs and profiles included."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from service.core import jobs
from service.store import migrate
from tests.support import pg, seed
from tests.support.stack import SCOPED_ID, Stack, make_env

# The first migration of several accounts: the database is written by those before it.
ACCOUNTS_MIGRATION = "0030"


@pytest.fixture
def old_database(postgresql: psycopg.Connection, monkeypatch) -> Iterator[str]:
    """A new database, migrated up to the last migration before accounts'."""
    info, name = postgresql.info, f"ingest_upgrade_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(info.dsn, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg.url_for(
        host=info.host, port=info.port, user=info.user, dbname=name, password=info.password
    )
    before = [m for m in migrate.MIGRATIONS if m.name < ACCOUNTS_MIGRATION]
    with monkeypatch.context() as patched:
        patched.setattr(migrate, "MIGRATIONS", before)
        migrate.migrate(url)
    try:
        yield url
    finally:
        with psycopg.connect(info.dsn, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def test_a_database_of_one_account_migrated_keeps_answering_it(old_database, sandbox):
    with psycopg.connect(old_database, autocommit=True, row_factory=dict_row) as db:
        # As the service of one account wrote them: a connected sender, a decided message,
        # and a DM to them still pending, none naming an account.
        seed.a_connected_sender(db, "fan-1")
        db.execute(
            'INSERT INTO messages (id, sender_ig_id, recipient_ig_id, "timestamp", decided_at)'
            " VALUES ('m-old', 'fan-1', %s, now(), now())",
            (SCOPED_ID,),
        )
        [pending] = db.execute(
            "INSERT INTO outbound_messages (recipient_ig_id, kind, payload)"
            " VALUES ('fan-1', 'custom', '{\"text\": \"before the upgrade\"}') RETURNING id"
        ).fetchall()
        assert "0030_instagram_accounts" in migrate.migrate(old_database)
        app = jobs.make_app(old_database)
        with app.open():  # its job, as `ingest retry-failed` queues one
            app.configure_task(jobs.SEND_OUTBOUND, queue=jobs.QUEUE_OUTBOUND).defer(
                outbound_id=str(pending["id"])
            )
        env = make_env(database_url=old_database, graph_url=sandbox.url)
        with Stack(env, sandbox, db) as stack:
            new = stack.ingest(mid="m-new", sender_ig_id="fan-1", timestamp=str(int(time.time())))
            assert new.status_code == 202
            sent = stack.post(
                "/api/internal/send-dm", {"ig_id": "fan-1", "message_text": "after the upgrade"}
            )
            assert sent.status_code in (200, 202), sent.text
            dms = sandbox.wait_for_messages(3, timeout=30)
        assert {(dm.recipient_id, dm.scoped_id) for dm in dms} == {("fan-1", SCOPED_ID)}
        [account] = db.execute("SELECT * FROM instagram_accounts").fetchall()
        assert (account["ig_id"], account["source"]) == (SCOPED_ID, "environment")
        # The DM pending before the upgrade, its account unnamed, went from the environment's.
        [old] = db.execute(
            "SELECT * FROM outbound_messages WHERE id = %s", (pending["id"],)
        ).fetchall()
        assert (old["account_ig_id"], old["status"]) == (None, "sent")
