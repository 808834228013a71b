"""Workers killed (SIGKILL) with jobs in flight: their jobs come back to a surviving or a
restarted worker, nothing is lost, and each send that was in flight at a kill is
duplicated at most once."""

from __future__ import annotations

import os
import signal
import time

from tests.support.processes import wait_until

BATCH = 12


def test_killed_workers_jobs_are_rescued_and_finished(faults, sandbox):
    stack = faults()
    sandbox.latency_seconds = 0.4  # sends stay in flight long enough to be cut
    stack.start_web()
    workers = [stack.start_worker(), stack.start_worker()]
    mids, figures = [], []
    # First a worker dies beside a survivor, then the last one dies and is restarted.
    for kill, then in enumerate(["a surviving worker", "a restarted worker"], start=1):
        for n in range(len(mids), len(mids) + BATCH):
            stack.post_event(f"crash-{n}", f"crash-user-{n}")
            mids.append(f"crash-{n}")
        victim = workers.pop(0)
        wait_until(lambda: stack.in_flight(victim), timeout=60, what="a send in flight")
        # Frozen first, so that the count of its sends in flight is exact at the kill.
        os.kill(victim.process.pid, signal.SIGSTOP)
        in_flight, sent_before = stack.in_flight(victim), len(sandbox.messages())
        victim.kill()
        killed_at = time.monotonic()
        if not workers:
            workers.append(stack.start_worker())
        wait_until(
            lambda: stack.in_flight() == 0 and len(sandbox.messages()) > sent_before,
            timeout=60,
            what="the killed worker's sends to be taken up",
        )
        figures.append((kill, then, in_flight, time.monotonic() - killed_at))

    stack.wait_all_done(mids)
    recovered = time.monotonic() - killed_at
    duplicates, lost = stack.duplicates(), stack.lost(mids)
    bound = sum(f[2] for f in figures)
    for kill, then, in_flight, seconds in figures:
        print(
            f"\n[worker SIGKILL {kill}] sends in flight at the kill: {in_flight}; "
            f"taken up by {then} {seconds:.1f}s after the kill"
        )
    print(
        f"[worker SIGKILL] events sent: {len(mids)}, lost: {lost}, DMs duplicated: "
        f"{duplicates} over {len(figures)} kills ({duplicates / len(figures):.1f} per kill, "
        f"at most {bound}); all done {recovered:.1f}s after the last kill"
    )
    assert lost == 0
    assert duplicates <= bound
    [row] = stack.rows("SELECT count(*) AS n, max(attempts) AS most FROM outbound_messages")
    assert row["n"] == len(mids) and row["most"] <= 2
