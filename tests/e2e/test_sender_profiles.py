"""Who sent it: a sender's profile is asked of Meta (the sandbox) in the background after
their first message, once, after the DM went out; a refusal is recorded and not asked again
in a loop; the verify endpoint answers with it."""

from __future__ import annotations

import time

from tests.support.processes import start_worker, wait_until
from tests.support.stack import SCOPED_ID, Stack

SENDER = "1254001234567890"


def message(stack, mid: str, sender: str = SENDER):
    response = stack.ingest(mid=mid, sender_ig_id=sender, timestamp=str(int(time.time())))
    assert response.status_code == 202, response.text


def profile_answered(stack, sender: str = SENDER) -> dict:
    return wait_until(
        lambda: (
            stack.rows(
                "SELECT * FROM instagram_profiles WHERE ig_id = %s"
                " AND profile_fetched_at IS NOT NULL",
                sender,
            )
            or [None]
        )[0],
        what=f"the profile of {sender} to be answered",
    )


def decided_and_done(stack, mid: str) -> None:
    """Wait until the message's job finished: its profile request, if any, is queued."""
    wait_until(
        lambda: stack.rows(
            "SELECT 1 FROM procrastinate_jobs WHERE task_name = 'decide_message'"
            " AND args ->> 'mid' = %s AND status = 'succeeded'",
            mid,
        ),
        what=f"the job of {mid} to succeed",
    )


def profile_jobs(stack) -> int:
    rows = stack.rows("SELECT 1 FROM procrastinate_jobs WHERE task_name = 'fetch_sender_profiles'")
    return len(rows)


def test_the_first_message_brings_the_senders_profile_after_its_dm(stack):
    stack.sandbox.objects.set_profile(SENDER, name="Ada Lovelace", username="ada", follower_count=7)

    message(stack, "mid-1")

    profile = profile_answered(stack)
    assert (profile["display_name"], profile["username"], profile["follower_count"]) == (
        "Ada Lovelace",
        "ada",
        7,
    )
    assert profile["profile_pic_url"] and profile["profile_error"] is None
    [dm] = stack.outbound_settled(1)
    assert dm["status"] == "sent" and dm["updated_at"] <= profile["profile_fetched_at"]


def test_a_fresh_profile_is_not_asked_again_at_the_next_message(stack):
    message(stack, "mid-1")
    profile_answered(stack)

    message(stack, "mid-2")
    decided_and_done(stack, "mid-2")

    assert profile_jobs(stack) == 1 and stack.sandbox.objects.reads["profile"] == 1


def test_a_consent_refusal_is_recorded_and_not_asked_again_in_a_loop(stack):
    stack.sandbox.objects.refuse(SENDER, "consent")

    message(stack, "mid-1")
    profile = profile_answered(stack)
    message(stack, "mid-2")
    decided_and_done(stack, "mid-2")

    assert profile["profile_error"] == "consent_required" and profile["username"] is None
    assert profile_jobs(stack) == 1 and stack.sandbox.objects.reads["profile"] == 1


def test_an_unavailable_user_is_recorded_as_such(stack):
    stack.sandbox.objects.refuse(SENDER, "unavailable")

    message(stack, "mid-1")

    assert profile_answered(stack)["profile_error"] == "unavailable"


def test_profile_reads_wait_their_turn_in_a_bucket_of_their_own(env, sandbox, db):
    # One read every 2 s: the second sender's profile waits its turn, re-scheduled.
    with Stack({**env, "GRAPH_READ_RATE": "0.5"}, sandbox, db) as stack:
        message(stack, "mid-1", sender="1001")
        message(stack, "mid-2", sender="1002")

        first, second = profile_answered(stack, "1001"), profile_answered(stack, "1002")
        buckets = {
            row["scoped_id"] for row in stack.rows("SELECT scoped_id FROM graph_send_buckets")
        }
        assert len(stack.outbound_settled(2)) == 2

    gap = abs(second["profile_fetched_at"] - first["profile_fetched_at"]).total_seconds()
    assert gap >= 1.5
    assert f"{SCOPED_ID}:reads" in buckets


def test_many_new_senders_profiles_are_one_list_and_one_job_waking_once_per_read(env, sandbox, db):
    rate, senders = 10, 30
    with Stack({**env, "GRAPH_READ_RATE": str(rate)}, sandbox, db, worker=False) as stack:
        for n in range(senders):
            message(stack, f"line-{n}", sender=f"line-sender-{n}")
        started = time.monotonic()
        worker = start_worker(stack.env, db)
        try:
            wait_until(
                lambda: stack.rows(
                    "SELECT 1 FROM instagram_profiles HAVING count(*) FILTER"
                    " (WHERE profile_fetched_at IS NOT NULL) = %s",
                    senders,
                ),
                timeout=60,
                what="every sender's profile",
            )
            took = time.monotonic() - started
        finally:
            worker.terminate()
            worker.close()
        [jobs] = stack.rows(
            "SELECT count(*) AS n, max(attempts) AS most FROM procrastinate_jobs"
            " WHERE task_name = 'fetch_sender_profiles'"
        )
    # The account's job fetches them one after another: beyond the bucket's first `rate`
    # reads, each read's wait queues the job again for its turn, run once then.
    assert jobs["n"] <= (senders - rate) + 3
    assert jobs["most"] == 1
    assert took >= (senders - rate) / rate * 0.9
    assert sandbox.objects.reads["profile"] == senders
