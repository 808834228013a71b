"""The Phase 3 contract, as docs/phase3.md gives it to a consumer in any language: its four
database functions driven through `psql` alone, as such a consumer would call them (the
rows are added and a message unsent by the service's side, as in production)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import time

import pytest

from service.store.queries import QUERIES
from tests.support import seed

SHARED = [{"kind": "reel", "media_id": "1", "url": "https://cdn/1", "title": None, "type": None}]


class Psql:
    """A consumer that speaks SQL through `psql`, nothing else."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url

    def rows(self, sql: str) -> list[dict[str, str]]:
        done = subprocess.run(
            ["psql", "--no-psqlrc", "--csv", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose"]
            + ["-c", sql, self.url],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise PsqlError(done.stderr)
        return list(csv.DictReader(io.StringIO(done.stdout)))

    def value(self, sql: str) -> str:
        [row] = self.rows(sql)
        [value] = row.values()
        return value

    def claim(self, consumer: str, max_rows: int = 10, lease: float = 30, attempts: int = 5):
        return self.rows(
            f"SELECT * FROM phase3_claim_v1('{consumer}', {max_rows}, {lease}, {attempts})"
        )


class PsqlError(Exception):
    pass


@pytest.fixture
def psql(database_url: str) -> Psql:
    return Psql(database_url)


def queued(db, *mids: str) -> None:
    for mid in mids:
        seed.phase3_row(db, mid)
        db.execute(
            "UPDATE messages SET message_text = 'look', shared_items = %s WHERE id = %s",
            (json.dumps(SHARED), mid),
        )


def claim_until(psql: Psql, consumer: str, deadline_seconds: float = 15, **how) -> list:
    """Claim until something is handed out (a lease must run out first), or fail."""
    deadline = time.monotonic() + deadline_seconds
    while not (claimed := psql.claim(consumer, **how)):
        assert time.monotonic() < deadline, f"{consumer} claimed nothing in {deadline_seconds}s"
    return claimed


def test_two_consumers_claim_disjoint_rows_in_order_with_their_messages(psql, db):
    queued(db, "m-1", "m-2", "m-3")

    first = psql.claim("a", max_rows=2)
    second = psql.claim("b", max_rows=2)

    assert [row["message_id"] for row in first + second] == ["m-1", "m-2", "m-3"]
    assert psql.claim("c") == []
    row = first[0]
    assert (row["kind"], row["attempts"], row["message_text"]) == ("message", "1", "look")
    assert json.loads(row["shared_items"]) == SHARED
    assert row["lease_expires_at"] and row["claim_token"]


def test_a_lease_that_runs_out_hands_the_row_to_another_and_the_late_completion_is_refused(
    psql, db
):
    queued(db, "m-1")
    [late] = psql.claim("a", lease=0.2)

    [taken] = claim_until(psql, "b")

    assert (taken["id"], taken["attempts"]) == (late["id"], "2")
    token = f"'{late['claim_token']}'"
    assert psql.value(f"SELECT phase3_extend_v1({late['id']}, {token}, 30)") == "f"
    assert psql.value(f"SELECT phase3_complete_v1({late['id']}, {token})") == "f"
    assert psql.value(f"SELECT phase3_fail_v1({late['id']}, {token}, 'x', 0, 5) IS NULL") == "t"
    current = f"{taken['id']}, '{taken['claim_token']}'"
    assert psql.value(f"SELECT phase3_complete_v1({current})") == "t"
    [row] = psql.rows("SELECT status, claimed_by, completed_at FROM phase3_queue")
    assert (row["status"], row["claimed_by"]) == ("done", "b") and row["completed_at"]


def test_a_failure_is_claimable_again_after_its_wait(psql, db):
    queued(db, "m-1")
    [failing] = psql.claim("a")

    token = f"'{failing['claim_token']}'"
    assert psql.value(f"SELECT phase3_fail_v1({failing['id']}, {token}, 'boom', 0, 5)") == "queued"

    [again] = claim_until(psql, "b")
    assert (again["id"], again["attempts"]) == (failing["id"], "2")
    assert psql.value("SELECT last_error FROM phase3_queue") == "boom"


def test_a_row_whose_claims_all_ran_out_fails_at_the_next_claim_with_its_reason(psql, db):
    queued(db, "m-1")
    [worn] = psql.claim("a", lease=0.2, attempts=1)

    deadline = time.monotonic() + 15
    while psql.value(f"SELECT status FROM phase3_queue WHERE id = {worn['id']}") != "failed":
        assert psql.claim("b", attempts=1) == []
        assert time.monotonic() < deadline, "the worn-out row never failed"

    [row] = psql.rows("SELECT last_error, claimed_by FROM phase3_queue")
    assert row == {"last_error": "claimed 1 times without being completed", "claimed_by": ""}


def test_an_unsend_withdraws_the_claim_and_queues_a_deletion_notice_after_its_lease(psql, db):
    queued(db, "m-1")
    [held] = psql.claim("a", lease=0.5)

    db.execute(QUERIES["messages_unsend"], {"mid": "m-1"})
    db.execute(QUERIES["phase3_queue_withdraw"], {"mid": "m-1"})

    token = f"'{held['claim_token']}'"
    assert psql.value(f"SELECT phase3_extend_v1({held['id']}, {token}, 30)") == "f"
    [notice] = claim_until(psql, "b")
    assert (notice["kind"], notice["message_id"]) == ("deletion", "m-1")
    assert (notice["message_text"], json.loads(notice["shared_items"])) == ("", [])
    assert notice["deleted_at"]
    assert (
        psql.value(f"SELECT phase3_complete_v1({notice['id']}, '{notice['claim_token']}')") == "t"
    )
    statuses = psql.rows("SELECT kind, status, claimed_by FROM phase3_queue ORDER BY id")
    assert statuses == [
        {"kind": "message", "status": "withdrawn", "claimed_by": ""},
        {"kind": "deletion", "status": "done", "claimed_by": "b"},
    ]


@pytest.mark.parametrize(
    ("call", "named"),
    [
        ("SELECT * FROM phase3_claim_v1('a', 0, 30, 5)", "max_rows"),
        ("SELECT * FROM phase3_claim_v1('', 1, 30, 5)", "consumer"),
        ("SELECT * FROM phase3_claim_v1('a', 1, 0, 5)", "lease_seconds"),
        ("SELECT * FROM phase3_claim_v1('a', 1, 'NaN', 5)", "lease_seconds"),
        ("SELECT * FROM phase3_claim_v1('a', 1, 30, 0)", "max_attempts"),
        ("SELECT phase3_extend_v1(1, gen_random_uuid(), -1)", "lease_seconds"),
        ("SELECT phase3_fail_v1(1, gen_random_uuid(), 'x', -1, 5)", "retry_in_seconds"),
        ("SELECT phase3_fail_v1(1, gen_random_uuid(), 'x', 1, NULL)", "max_attempts"),
    ],
)
def test_a_bad_argument_is_an_invalid_parameter_error_naming_it(psql, db, call, named):
    queued(db, "m-1")

    with pytest.raises(PsqlError) as refused:
        psql.rows(call)

    assert "22023" in str(refused.value) and named in str(refused.value)
    assert psql.rows("SELECT status, attempts FROM phase3_queue") == [
        {"status": "queued", "attempts": "0"}
    ]
