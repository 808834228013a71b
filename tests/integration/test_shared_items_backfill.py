"""Migration 0035 gave the messages stored before it their `shared_items` by the rules that
`service.store.shared_items` applies to each new one: run again over messages of every
documented shape, its backfill writes what Python computes."""

from __future__ import annotations

import datetime as dt
import json

import msgspec

from service.store.queries import SQL_DIR
from service.store.shared_items import shared_items
from tests.support.meta_payloads import (
    CDN,
    attachment,
    ephemeral_media,
    shared_post_new_style,
    shared_post_old_style,
    shared_reel,
    story_mention,
    unknown_attachment,
)

MIGRATION = SQL_DIR / "migrations" / "0035_shared_items.sql"
SHAPES = {
    "reel": [shared_reel(), shared_reel(kind="reel")],
    "post new style": shared_post_new_style(),
    "post old style": [shared_post_old_style()],
    "share of the ig_post's url": [
        attachment("share", url=CDN),
        attachment("ig_post", ig_post_media_id="1", url=CDN),
    ],
    "story": [story_mention(), attachment("ig_story", id=17900000000000000, url=CDN)],
    "media": [attachment(kind, url=CDN, title="t") for kind in ("image", "video", "audio", "file")],
    "other": [ephemeral_media(), unknown_attachment(), "x", {"type": 7}, {"type": "reel"}],
    "one object": story_mention(),
    "text only": None,
}


def backfill() -> str:
    """The migration's UPDATE of the messages stored before it."""
    text = MIGRATION.read_text(encoding="utf-8")
    start = text.index("WITH attachment AS")
    return text[start : text.index(";", text.index("WHERE m.id = items.id", start))]


def test_the_backfill_gives_older_messages_what_ingest_gives_new_ones(db):
    for mid, attachments in SHAPES.items():
        db.execute(
            "INSERT INTO messages (id, sender_ig_id, recipient_ig_id, timestamp, attachments)"
            " VALUES (%s, 'u', 'a', %s, %s)",
            (
                mid,
                dt.datetime.now(dt.UTC),
                None if attachments is None else json.dumps(attachments),
            ),
        )

    db.execute(backfill())

    rows = db.execute("SELECT id, shared_items FROM messages").fetchall()
    computed = {
        mid: msgspec.json.decode(msgspec.json.encode(shared_items(a))) for mid, a in SHAPES.items()
    }
    assert {row["id"]: row["shared_items"] for row in rows} == computed
