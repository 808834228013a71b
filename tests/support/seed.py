"""The rows a test needs, by what it needs them for: a connected sender, a live verification
token, a failed DM, a stalled job, old backlogs. Every tier with a database builds its rows
here, so that a change of the schema changes one function, not every test that inserts.
"""

from __future__ import annotations

import hashlib
import uuid

from psycopg.types.json import Jsonb

# The environment's account of the tests' settings (`tests.support.stack.SCOPED_ID`).
ACCOUNT = "17841400000000001"


def environment_account(db, ig_id: str = ACCOUNT) -> None:
    """The account the environment names, recorded as a process's start records it."""
    db.execute(
        "INSERT INTO instagram_accounts (ig_id, source) VALUES (%s, 'environment')"
        " ON CONFLICT DO NOTHING",
        (ig_id,),
    )


def message(
    db, mid: str, *, minutes_ago: float = 0, decided: bool = True, account: str = ACCOUNT
) -> None:
    db.execute(
        'INSERT INTO messages (id, sender_ig_id, recipient_ig_id, "timestamp", created_at,'
        " decided_at) VALUES (%(mid)s, 'sender-' || %(mid)s, %(account)s, now(),"
        " now() - make_interval(mins => %(ago)s),"
        " CASE WHEN %(decided)s THEN now() END)",
        {"mid": mid, "ago": minutes_ago, "decided": decided, "account": account},
    )


def a_connected_sender(db, ig_id: str, *, user_id: uuid.UUID | None = None) -> uuid.UUID:
    """The account `ig_id` connected to a Reeva user (a new one unless `user_id` is given);
    returns the user's id."""
    user_id = user_id or uuid.uuid4()
    db.execute("INSERT INTO profiles (id) VALUES (%s) ON CONFLICT DO NOTHING", (user_id,))
    db.execute(
        "INSERT INTO instagram_profiles (ig_id, connected_user_id, connected_at) "
        "VALUES (%s, %s, now())",
        (ig_id, user_id),
    )
    return user_id


def an_unconnected_sender(db, ig_id: str, *, last_inbound_seconds_ago: float | None = None) -> None:
    """An account the service knows but no Reeva user has connected; with
    `last_inbound_seconds_ago`, its last inbound event (its messaging window) was that long
    ago. Nothing changes if the account is known already."""
    db.execute(
        "INSERT INTO instagram_profiles (ig_id, last_inbound_at)"
        " VALUES (%s, now() - make_interval(secs => %s)) ON CONFLICT DO NOTHING",
        (ig_id, last_inbound_seconds_ago),
    )


# A verification token's plaintext, as the link in the verification DM carries it.
TOKEN_PLAINTEXT = "ab" * 32


def a_verification_token(
    db,
    ig_id: str = "user-1",
    plaintext: str = TOKEN_PLAINTEXT,
    *,
    ttl: str = "1 hour",
    event_id: str | None = None,
) -> str:
    """A verification token for the unconnected account `ig_id`, live for `ttl` (negative:
    expired), made for the message `event_id` if given; returns its SHA-256 hex digest, the
    only form stored."""
    an_unconnected_sender(db, ig_id)
    digest = hashlib.sha256(plaintext.encode()).hexdigest()
    db.execute(
        "INSERT INTO verification_tokens (token_hash, ig_id, expires_at, created_by_event_id)"
        " VALUES (%s, %s, now() + %s::interval, %s)",
        (digest, ig_id, ttl, event_id),
    )
    return digest


def outbound(
    db,
    *,
    kind: str = "acknowledgement",
    status: str = "sent",
    attempts: int = 1,
    recipient: str = "user-1",
    error: str | None = None,
    message_id: str | None = None,
    minutes_ago: float = 0,
) -> uuid.UUID:
    """A DM created, and last updated (sent or failed), `minutes_ago`."""
    row = db.execute(
        "INSERT INTO outbound_messages (recipient_ig_id, kind, payload, status, attempts,"
        " error, message_id, created_at, updated_at) VALUES (%(recipient)s, %(kind)s,"
        " %(payload)s, %(status)s, %(attempts)s, %(error)s, %(message_id)s,"
        " now() - make_interval(mins => %(ago)s), now() - make_interval(mins => %(ago)s))"
        " RETURNING id",
        {
            "recipient": recipient,
            "kind": kind,
            "payload": Jsonb({"text": "hi"}),
            "status": status,
            "attempts": attempts,
            "error": error,
            "message_id": message_id,
            "ago": minutes_ago,
        },
    ).fetchone()
    return row["id"]


def a_pending_dm(db, recipient: str = "user-1", *, kind: str = "custom") -> uuid.UUID:
    """A DM to `recipient`, recorded and not yet sent: what a send starts from."""
    return db.execute(
        "INSERT INTO outbound_messages (recipient_ig_id, kind, payload)"
        ' VALUES (%s, %s, \'{"text": "hello"}\') RETURNING id',
        (recipient, kind),
    ).fetchone()["id"]


def failed_dm(db, **fields) -> uuid.UUID:
    fields = {
        "status": "failed",
        "attempts": 4,
        "error": "TransientGraphError http=500: boom",
        **fields,
    }
    return outbound(db, **fields)


def job(
    db,
    *,
    task: str = "decide_message",
    queue: str = "messages",
    status: str = "todo",
    minutes_ago: float = 0,
    worker_id: int | None = None,
    queueing_lock: str | None = None,
) -> int:
    """A job; a `todo` one has been runnable for `minutes_ago` (negative: not yet)."""
    row = db.execute(
        "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status, scheduled_at,"
        " worker_id, queueing_lock)"
        " VALUES (%s, %s, %s, %s, now() - make_interval(mins => %s), %s, %s) RETURNING id",
        (queue, task, Jsonb({"mid": "m"}), status, minutes_ago, worker_id, queueing_lock),
    ).fetchone()
    return row["id"]


def stalled_job(db, *, silent_minutes: float = 5, queueing_lock: str | None = None) -> int:
    """A `doing` job whose worker last sent a heartbeat `silent_minutes` ago."""
    worker = db.execute(
        "INSERT INTO procrastinate_workers (last_heartbeat)"
        " VALUES (now() - make_interval(mins => %s)) RETURNING id",
        (silent_minutes,),
    ).fetchone()
    return job(db, status="doing", worker_id=worker["id"], queueing_lock=queueing_lock)


def phase3_row(db, mid: str, *, status: str = "queued", minutes_ago: float = 0) -> None:
    message(db, mid)
    db.execute(
        "INSERT INTO phase3_queue (message_id, ig_id, connected_user_id, status, created_at,"
        " completed_at) VALUES (%s, 'user-p3', %s, %s, now() - make_interval(mins => %s),"
        " CASE WHEN %s = 'done' THEN now() - make_interval(mins => %s) END)",
        (mid, uuid.uuid4(), status, minutes_ago, status, minutes_ago),
    )


def finished_job(
    db, *, status: str = "succeeded", days_ago: int = 0, queue: str = "messages"
) -> int:
    """A job that reached `status` `days_ago`, with the event that says so."""
    job_id = job(db, status=status, queue=queue)
    db.execute(
        "INSERT INTO procrastinate_events (job_id, type, at)"
        " VALUES (%s, %s, now() - make_interval(days => %s))",
        (job_id, status, days_ago),
    )
    return job_id


def delivery(
    db,
    *,
    status: str = "received",
    minutes_ago: float = 0,
    attempts: int = 0,
    error: str | None = None,
) -> int:
    """A webhook delivery received `minutes_ago`, its last attempt (if any) made then too."""
    row = db.execute(
        "INSERT INTO webhook_deliveries (body, signed, received_at, status, attempts,"
        " last_error, last_attempt_at) VALUES ('{}', true, now() - make_interval(mins => %(ago)s),"
        " %(status)s, %(attempts)s, %(error)s,"
        " CASE WHEN %(attempts)s > 0 THEN now() - make_interval(mins => %(ago)s) END)"
        " RETURNING id",
        {"ago": minutes_ago, "status": status, "attempts": attempts, "error": error},
    ).fetchone()
    return row["id"]
