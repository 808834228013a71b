"""A day of an account's traffic, written straight into the tables the console reads: what
the browser tests check every console page against, and what the README's screenshot shows
(`tests.support.console_screenshot`). Ids as long as Meta's, texts and errors at their
longest, a connected and an unconnected sender, failures of each kind. The same rows every
time: only their times follow the clock."""

from __future__ import annotations

import base64
import dataclasses
import math
import uuid

from psycopg.types.json import Jsonb

from tests.support.stack import SCOPED_ID

SLOT_MINUTES = 10  # the messages of a slot arrive together
FAILED_EVERY = 17  # one DM in so many fails
PHASE3_QUEUED = 12  # the connected sender's latest messages, not yet claimed by Phase 3
PHASE3_CLAIMED = 2
CONNECTED = "26419871234567890"
UNCONNECTED = "17958203456781234"
# Meta's error for a recipient that does not exist, as the client records it.
NO_SUCH_USER = (
    "PermanentGraphError http=400 code=100 subcode=2534014: No matching user found "
    "(type IGApiException, fbtrace_id AYq3vXk9ZbN0cR7dT1eW5fGhJ2mLpQs8uVxYz4a6B)"
)
# A Phase 3 consumer names itself as it likes: here, at length.
CONSUMER = "phase3-consumer@reeva-web-7f9c4d8b6-x2k4q:pid-48213"
LONG_TEXT = (
    "Look at this one, it is exactly the recipe I was telling you about last week 🍝 "
    "https://www.instagram.com/reel/C9xKq2LmN4pR7sT1vW3yZ5aB8cD0eF6gH/"
    "?igsh=MTc4OTBhYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3ODk5ODc2NTQzMjE "
) * 6


def meta_id(kind: str, n: int) -> str:
    """An id shaped like Meta's mids and message ids: about 150 characters, no break."""
    raw = f"ig_{kind}_item:1:IGMessageID:{SCOPED_ID}:{340282366841710300949128 + n * 7919}:{n}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@dataclasses.dataclass(frozen=True)
class Demo:
    connected: str
    unconnected: str
    mid: str  # the connected sender's latest message: a long text, edited, in Phase 3
    failed_dm: uuid.UUID
    failed_delivery: int
    received: int  # messages of the last 24 hours
    sent: int  # of their DMs, sent
    failed: int  # and failed
    phase3_queued: int
    phase3_claimed: int


def seed(db) -> Demo:
    """The rows, through `db` (a psycopg connection in autocommit, rows as dicts)."""
    user_id = uuid.uuid4()
    db.execute(
        "INSERT INTO profiles (id, email) VALUES (%s, 'ada.lovelace@example.com')", (user_id,)
    )
    db.execute(
        "INSERT INTO instagram_profiles (ig_id, username, connected_user_id, connected_at,"
        " last_inbound_at, created_at) VALUES"
        " (%s, 'ada.lovelace.cooks.everything_daily', %s, now() - interval '3 days',"
        "  now() - interval '2 minutes', now() - interval '9 days'),"
        " (%s, NULL, NULL, NULL, now() - interval '30 hours', now() - interval '2 days')",
        (CONNECTED, user_id, UNCONNECTED),
    )
    messages, dms, failed = [], [], None
    for n, minutes in enumerate(_arrivals()):
        sender = CONNECTED if n % 4 == 0 else f"1795820345678{n:04d}"
        mid = meta_id("message", n)
        messages.append((mid, sender, SCOPED_ID, LONG_TEXT if n == 0 else "hi", minutes))
        status = "failed" if n % FAILED_EVERY == 5 else "sent"
        kind = "acknowledgement" if sender == CONNECTED else "verification"
        dm = uuid.UUID(int=n + 1)
        failed = failed or (dm if status == "failed" else None)
        dms.append((dm, sender, kind, status, mid, minutes, meta_id("reply", n)))
    messages.append((meta_id("message", 9999), UNCONNECTED, SCOPED_ID, "anyone?", 30 * 60))
    with db.cursor() as cur:
        cur.executemany(
            'INSERT INTO messages (id, sender_ig_id, recipient_ig_id, message_text, "timestamp",'
            " created_at, decided_at, processed) VALUES (%s, %s, %s, %s,"
            " now() - make_interval(mins => %s), now() - make_interval(mins => %s),"
            " now() - make_interval(mins => %s), %s = %s)",
            [(m, s, r, t, ago, ago, ago, s, CONNECTED) for m, s, r, t, ago in messages],
        )
        cur.executemany(
            "INSERT INTO outbound_messages (id, recipient_ig_id, kind, payload, status,"
            " attempts, error, message_id, remote_message_id, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " now() - make_interval(mins => %s), now() - make_interval(mins => %s))",
            [
                (dm, to, kind, Jsonb({"text": "…"}), status, 1 if status == "sent" else 4,
                 NO_SUCH_USER if status == "failed" else None, mid,
                 remote if status == "sent" else None, ago, ago)
                for dm, to, kind, status, mid, ago, remote in dms
            ],
        )  # fmt: skip
    _phase3(db, [m for m, s, *_ in messages if s == CONNECTED], user_id)
    mid = messages[0][0]
    db.execute(
        "UPDATE messages SET edited_at = now() - interval '1 minute', edit_count = 2,"
        " attachments = %s WHERE id = %s",
        (Jsonb([{"type": "ig_reel", "payload": {"url": LONG_TEXT.split()[-1]}}]), mid),
    )
    failed_delivery = _deliveries(db, mid)
    db.execute(
        "INSERT INTO graph_rate_limits (scoped_id, limited_until, error) VALUES"
        " (%s, now() + interval '90 seconds', 'RateLimitedGraphError http=429 code=4:"
        " Application request limit reached (fbtrace_id AYq3vXk9ZbN0cR7dT1eW5fGhJ2mLpQs8uV)')",
        (SCOPED_ID,),
    )
    return Demo(
        connected=CONNECTED,
        unconnected=UNCONNECTED,
        mid=mid,
        failed_dm=failed or uuid.UUID(int=0),
        failed_delivery=failed_delivery,
        received=len(dms),
        sent=sum(1 for dm in dms if dm[3] == "sent"),
        failed=sum(1 for dm in dms if dm[3] == "failed"),
        phase3_queued=PHASE3_QUEUED,
        phase3_claimed=PHASE3_CLAIMED,
    )


def _arrivals() -> list[int]:
    """Minutes ago of each message of the last 24 hours, newest first: none to four a slot,
    in a day's rhythm."""
    minutes = []
    for slot in range(1, 24 * 60 // SLOT_MINUTES):
        together = round(2 + 2 * math.sin(2 * math.pi * slot * SLOT_MINUTES / (24 * 60) + 1))
        minutes += [slot * SLOT_MINUTES - 8] * together
    return minutes


def _phase3(db, mids: list[str], user_id: uuid.UUID) -> None:
    """The connected sender's messages, newest first: queued, then claimed, then done."""
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO phase3_queue (message_id, ig_id, connected_user_id, status, claimed_by,"
            " claimed_at, completed_at, created_at)"
            " SELECT id, sender_ig_id, %(user)s, %(status)s,"
            " CASE WHEN %(status)s <> 'queued' THEN %(by)s END,"
            " CASE WHEN %(status)s <> 'queued' THEN now() END,"
            " CASE WHEN %(status)s = 'done' THEN created_at END, created_at"
            " FROM messages WHERE id = %(mid)s",
            [
                {"user": user_id, "status": _phase3_status(i), "mid": mid, "by": CONSUMER}
                for i, mid in enumerate(mids)
            ],
        )


def _phase3_status(newest_first: int) -> str:
    if newest_first < PHASE3_QUEUED:
        return "queued"
    return "claimed" if newest_first < PHASE3_QUEUED + PHASE3_CLAIMED else "done"


def _deliveries(db, mid: str) -> int:
    """A forwarded delivery of `mid`, and a failed one; returns the failed one's id."""
    body = {
        "object": "instagram",
        "entry": [{"id": SCOPED_ID, "time": 1, "messaging": [{"message": {"mid": mid}}]}],
    }
    db.execute(
        "INSERT INTO webhook_deliveries (body, signed, status, attempts, messages_forwarded,"
        " received_at, last_attempt_at) VALUES (%s, true, 'forwarded', 1, 1,"
        " now() - interval '2 minutes', now() - interval '2 minutes')",
        (Jsonb(body),),
    )
    row = db.execute(
        "INSERT INTO webhook_deliveries (body, signed, status, attempts, last_error,"
        " received_at, last_attempt_at) VALUES (%s, true, 'failed', 13, %s,"
        " now() - interval '40 minutes', now() - interval '20 minutes') RETURNING id",
        (
            Jsonb({**body, "entry": [{**body["entry"][0], "time": 2}]}),
            'ingest endpoint: HTTP 503 {"status_code":503,"detail":"database unavailable,'
            ' retry later"} after 13 attempts over 20 minutes; replay it once the database'
            " answers (ingest replay-delivery)",
        ),
    ).fetchone()
    return row["id"]
