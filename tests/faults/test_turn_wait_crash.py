"""A worker killed (SIGKILL) while sends of a batch wait in place for their turns under the
account's pace (`service.dms.batch_sending`), their jobs already done: no job will send
them, and the rescue queues them again once their turns have passed. Nothing is lost, and
nothing is sent twice: none of them was in flight."""

from __future__ import annotations

import os
import signal

from service.dms import orphans
from tests.support.processes import wait_until

MESSAGES = 8
# A turn every quarter second, none stored ahead: the batch's first DM goes at once, the
# next ones wait in place for theirs, the rest (beyond a second) go to jobs of their own.
PACE = {"GRAPH_SEND_RATE": "4", "GRAPH_SEND_BURST": "1"}
# Pending, never begun, its turn to come, and no job to send it: waited for in place.
WAITING_IN_PLACE = (
    "SELECT o.id FROM outbound_messages o WHERE o.status = 'pending' AND o.attempts = 0"
    " AND o.paced_at > now() AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j"
    "  WHERE j.status IN ('todo', 'doing')"
    "  AND (j.args ->> 'outbound_id' = o.id::text OR j.args ->> 'mid' = o.message_id))"
)


def test_sends_waiting_for_their_turns_are_sent_by_the_next_worker(faults, sandbox):
    stack = faults(**PACE)
    stack.start_web()
    mids = stack.from_connected_senders("turn-crash", MESSAGES)

    victim = stack.start_worker()
    wait_until(lambda: stack.rows(WAITING_IN_PLACE), timeout=60, what="sends waiting in place")
    os.kill(victim.process.pid, signal.SIGSTOP)
    waiting = {row["id"] for row in stack.rows(WAITING_IN_PLACE)}
    in_flight = stack.in_flight()
    victim.kill()
    stack.start_worker()

    stack.wait_all_done(mids, timeout=90 + orphans.TURN_GRACE_SECONDS)
    duplicates, lost = stack.duplicates(), stack.lost(mids)
    print(
        f"\n[turn wait SIGKILL] sends waiting in place: {len(waiting)}, in flight: "
        f"{in_flight}; lost: {lost}, duplicated: {duplicates}"
    )
    assert waiting
    assert lost == 0
    assert duplicates <= in_flight
    # Each given a job by the rescue, none of them having had one.
    queued_again = stack.rows(
        "SELECT DISTINCT (args ->> 'outbound_id')::uuid AS id FROM procrastinate_jobs"
        " WHERE task_name = 'send_outbound' AND status = 'succeeded'"
        " AND args ->> 'outbound_id' = ANY (%s)",
        [str(dm_id) for dm_id in waiting],
    )
    assert {row["id"] for row in queued_again} == waiting
