"""A worker killed (SIGKILL) while it decides and answers messages together: the jobs it took
from the line with its own come back to the restarted worker through the rescue of stalled
jobs, nothing is lost, and each send in flight at the kill is duplicated at most once."""

from __future__ import annotations

import os
import signal

from tests.support.processes import wait_until

MESSAGES, BATCH = 30, 10


def test_a_batch_cut_off_mid_call_is_finished_by_the_next_worker(faults, sandbox):
    stack = faults(DECIDE_BATCH_SIZE=str(BATCH))
    sandbox.latency_seconds = 0.5  # the batch's calls stay in flight long enough to be cut
    stack.start_web()
    mids = stack.from_connected_senders("batch-crash", MESSAGES)

    victim = stack.start_worker()
    wait_until(lambda: stack.in_flight(victim) >= BATCH, timeout=60, what="a batch's sends")
    os.kill(victim.process.pid, signal.SIGSTOP)
    in_flight = stack.in_flight(victim)
    [held] = stack.rows(
        "SELECT count(*) AS n FROM procrastinate_jobs WHERE task_name = 'decide_message'"
        " AND status = 'doing' AND worker_id = ANY (%s)",
        victim.worker_ids,
    )
    victim.kill()
    stack.start_worker()

    stack.wait_all_done(mids)
    duplicates, lost = stack.duplicates(), stack.lost(mids)
    print(
        f"\n[batch SIGKILL] jobs the worker held: {held['n']}, sends in flight: {in_flight}; "
        f"lost: {lost}, duplicated: {duplicates}"
    )
    # The worker held the jobs it took beside the ones it ran: more than one per batch.
    assert held["n"] >= BATCH
    assert lost == 0
    assert duplicates <= in_flight
    unfinished = stack.rows(
        "SELECT id, status FROM procrastinate_jobs"
        " WHERE task_name = 'decide_message' AND status <> 'succeeded'"
    )
    assert unfinished == []
