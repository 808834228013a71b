"""A worker killed (SIGKILL) with jobs in flight: its jobs come back, nothing is lost, and
each send that was in flight is duplicated at most once."""

from __future__ import annotations

import os
import signal
import time

from tests.processes import wait_until

BATCH = 12
KILLS = 2
EVENTS = BATCH * KILLS


def test_killed_workers_jobs_are_rescued_and_finished(faults, sandbox):
    stack = faults()
    sandbox.state.latency_seconds = 0.4  # sends stay in flight long enough to be cut
    stack.start_web()
    worker = stack.start_worker()
    mids, figures = [], []
    for kill in range(1, KILLS + 1):
        for n in range(len(mids), len(mids) + BATCH):
            stack.post_event(f"crash-{n}", f"crash-user-{n}")
            mids.append(f"crash-{n}")
        wait_until(stack.in_flight, timeout=60, what="a send in flight")
        # Frozen first, so that the count of sends in flight is exact at the kill.
        os.kill(worker.process.pid, signal.SIGSTOP)
        in_flight, sent_before = stack.in_flight(), len(sandbox.messages())
        worker.kill()
        killed_at = time.monotonic()
        worker = stack.start_worker()
        rescued = wait_until(lambda: stack.in_flight() == 0 and len(sandbox.messages()) > sent_before,
                             timeout=60, what="the killed worker's sends to be taken up")
        figures.append((kill, in_flight, time.monotonic() - killed_at))
        assert rescued

    stack.wait_all_done(mids)
    recovered = time.monotonic() - killed_at
    duplicates, lost = stack.duplicates(), stack.lost(mids)
    in_flight_total = sum(f[1] for f in figures)
    for kill, in_flight, seconds in figures:
        print(f"\n[worker SIGKILL {kill}] sends in flight at the kill: {in_flight}; "
              f"sends taken up again after {seconds:.1f}s")
    print(f"[worker SIGKILL] events sent: {EVENTS}, lost: {lost}, DMs duplicated: {duplicates} "
          f"over {KILLS} kills ({duplicates / KILLS:.1f} per kill, bound: {in_flight_total}); "
          f"all done {recovered:.1f}s after the last kill")
    assert lost == 0
    assert duplicates <= in_flight_total
    assert stack.rows("SELECT count(*) AS n FROM procrastinate_jobs"
                      " WHERE status = 'doing'")[0]["n"] <= 1  # at most the running rescue
    [row] = stack.rows("SELECT count(*) AS n, max(attempts) AS most FROM outbound_messages")
    assert row["n"] == EVENTS and row["most"] <= 2
