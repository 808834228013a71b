"""Two runners of one verification DM (a rescued job of a slow worker, `replay` racing
`retry-failed`): the link the user gets always names a token that is in the table."""

from __future__ import annotations

import asyncio
import hashlib
import re

import pytest

from service.business_account.runtime import open_runtime
from service.core.settings import Settings
from service.dms import sending
from service.messages import deciding
from tests.support import seed

USER = "user-race"
_TOKEN = re.compile(r"[?&]token=([0-9a-f]+)")


def verification_dm(db, mid: str, ig_id: str = USER):
    """A message from an unconnected user, decided: its verification DM pending, not begun."""
    seed.message(db, mid)
    seed.an_unconnected_sender(db, ig_id)
    return db.execute(
        "INSERT INTO outbound_messages (recipient_ig_id, kind, payload, message_id)"
        " VALUES (%s, 'verification', '{\"text\": \"redacted\"}', %s) RETURNING id",
        (ig_id, mid),
    ).fetchone()["id"]


def linked_tokens(db, sandbox) -> list[dict | None]:
    """For each DM the sandbox received, the stored token its link names (None: none)."""
    found = []
    for dm in sandbox.messages():
        digest = hashlib.sha256(_TOKEN.search(dm.text)[1].encode()).hexdigest()
        found.append(
            db.execute(
                "SELECT ig_id, consumed FROM verification_tokens WHERE token_hash = %s",
                (digest,),
            ).fetchone()
        )
    return found


@pytest.mark.parametrize("second_runner", ["send_outbound", "replay"])
async def test_a_second_runner_of_a_dm_in_flight_leaves_its_token_alone(
    env, sandbox, db, second_runner
):
    dm_id = verification_dm(db, "m-race")
    db.execute("UPDATE messages SET decided_at = now() WHERE id = 'm-race'")
    sandbox.hold()
    async with open_runtime(Settings.from_mapping(env)) as rt:
        first = asyncio.create_task(sending.send_outbound(rt, dm_id))
        try:
            # The first runner's call has reached the Graph API and is held there.
            await asyncio.to_thread(sandbox.wait_for_attempts, 1)
            with pytest.raises(sending.RetryLater):
                if second_runner == "send_outbound":
                    await sending.send_outbound(rt, dm_id)
                else:
                    await deciding.decide_message(rt, "m-race")
        finally:
            sandbox.release()
        row = await first
    assert row is not None and row.status == "sent"
    assert sandbox.attempts == 1
    assert linked_tokens(db, sandbox) == [{"ig_id": USER, "consumed": False}]
    [token] = db.execute("SELECT token_hash FROM verification_tokens").fetchall()
    assert row.payload["token_hash"] == token["token_hash"]


async def test_two_runners_at_once_send_only_links_whose_token_is_stored(env, sandbox, db):
    dm_id = verification_dm(db, "m-both")
    async with open_runtime(Settings.from_mapping(env)) as rt:

        async def runner() -> None:
            try:
                await sending.send_outbound(rt, dm_id)
            except sending.RetryLater:
                pass

        await asyncio.gather(*(runner() for _ in range(8)))
    assert sandbox.attempts == 1
    assert linked_tokens(db, sandbox) == [{"ig_id": USER, "consumed": False}]


async def test_an_event_token_of_another_account_is_not_taken_over(env, sandbox, db):
    dm_id = verification_dm(db, "m-other")
    digest = seed.a_verification_token(db, "someone-else", event_id="m-other")
    async with open_runtime(Settings.from_mapping(env)) as rt:
        row = await sending.send_outbound(rt, dm_id)
    assert all(token is not None and token["ig_id"] == USER for token in linked_tokens(db, sandbox))
    assert row is not None and row.status == "failed" and sandbox.attempts == 0
    [token] = db.execute("SELECT token_hash, ig_id FROM verification_tokens").fetchall()
    assert token == {"token_hash": digest, "ig_id": "someone-else"}
