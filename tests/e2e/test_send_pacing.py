"""Sends paced under the Graph API's rate by the account's bucket in Postgres, shared by
real worker processes against the sandbox enforcing a rate limit; verification DMs first;
the acknowledgement cooldown."""

from __future__ import annotations

from tests.support import seed
from tests.support.processes import start_worker, wait_until
from tests.support.stack import Stack, make_env

RATE, BURST = 20, 5


def paced_env(database_url: str, sandbox, **extra: str) -> dict[str, str]:
    paced = {"GRAPH_SEND_RATE": str(RATE), "GRAPH_SEND_BURST": str(BURST)}
    paced |= {"WORKER_CONCURRENCY": "10"} | extra
    return make_env(database_url=database_url, graph_url=sandbox.url, **paced)


def busiest_second(times) -> int:
    """The most sends any window of 1 s holds."""
    times, most, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while (t - times[start]).total_seconds() >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def test_two_workers_keep_a_burst_under_the_rate_and_meet_no_429(database_url, sandbox, db):
    sandbox.rate_limit_per_second = RATE * 1.5  # Meta's limit, above the configured pace
    count = 100
    with Stack(paced_env(database_url, sandbox), sandbox, db, worker=False) as stack:
        for n in range(count):
            seed.a_connected_sender(db, f"user-{n}")
            assert stack.ingest(mid=f"m-{n}", sender_ig_id=f"user-{n}").status_code == 202
        workers = [start_worker(stack.env, db) for _ in range(2)]
        try:
            sent = sandbox.wait_for_messages(count, timeout=60)
            wait_until(
                lambda: stack.rows(
                    "SELECT 1 FROM outbound_messages HAVING count(*) FILTER"
                    " (WHERE status = 'sent') = %s",
                    count,
                ),
                timeout=30,
                what="every acknowledgement recorded as sent",
            )
        finally:
            for worker in workers:
                worker.terminate()
                worker.close()
    assert sandbox.rate_limited == 0
    assert busiest_second([m.arrived_at for m in sent]) <= RATE + BURST


def test_a_verification_dm_goes_before_the_acknowledgements_waiting(database_url, sandbox, db):
    env = paced_env(database_url, sandbox, GRAPH_SEND_RATE="5", GRAPH_SEND_BURST="4")
    acks = 20
    with Stack(env, sandbox, db) as stack:
        for n in range(acks):
            seed.a_connected_sender(db, f"user-{n}")
            stack.ingest(mid=f"m-{n}", sender_ig_id=f"user-{n}")
        sandbox.wait_for_messages(1)
        stack.ingest(mid="m-new", sender_ig_id="someone-new")
        sent = sandbox.wait_for_messages(acks + 1, timeout=30)
    order = [m.recipient_id for m in sent]
    # At 5 a second the acknowledgements take 4 s; the verification DM does not wait behind
    # them.
    assert order.index("someone-new") < acks // 2, order


def test_the_ack_cooldown_sends_one_acknowledgement_yet_every_message_reaches_phase3(
    database_url, sandbox, db
):
    env = make_env(database_url=database_url, graph_url=sandbox.url, ACK_COOLDOWN_SECONDS="3600")
    with Stack(env, sandbox, db) as stack:
        seed.a_connected_sender(db, "user-1")
        for n in range(3):
            stack.ingest(mid=f"m-{n}", sender_ig_id="user-1")
            stack.wait_decided(f"m-{n}")
        [dm] = stack.outbound_settled(1)
        assert dm["kind"] == "acknowledgement" and dm["status"] == "sent"
        queued = stack.rows("SELECT message_id FROM phase3_queue ORDER BY message_id")
    assert [r["message_id"] for r in queued] == ["m-0", "m-1", "m-2"]
    assert len(sandbox.messages()) == 1
