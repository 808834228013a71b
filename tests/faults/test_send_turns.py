"""Sends waiting their turn under GRAPH_SEND_RATE while the service's own database
connections are cut: no DM is left pending without a job, each send waits for its turn
once, and routine pacing stays out of the warnings."""

from __future__ import annotations

import json
import time

from tests.support.processes import wait_until

DMS, RATE, BURST = 40, 5, 5
CUT_SECONDS = 3.0
LIVE_JOB = (
    "EXISTS (SELECT 1 FROM procrastinate_jobs j WHERE j.status IN ('todo', 'doing')"
    " AND ((j.task_name = 'send_outbound' AND j.args ->> 'outbound_id' = o.id::text)"
    " OR (j.task_name IN ('decide_message', 'process_message')"
    " AND j.args ->> 'mid' = o.message_id)))"
)


def cut_connections(stack, seconds: float) -> int:
    """Terminate every other backend of the service's database, again and again, for
    `seconds`: the service's pools and listener lose each connection they open."""
    killed, until = 0, time.monotonic() + seconds
    while time.monotonic() < until:
        killed += len(
            stack.rows(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        time.sleep(0.05)
    return killed


def test_a_backlog_paced_through_a_cut_of_its_connections_leaves_no_dm_stranded(faults, sandbox):
    stack = faults(GRAPH_SEND_RATE=str(RATE), GRAPH_SEND_BURST=str(BURST))
    stack.start_web()
    worker = stack.start_worker()
    mids = [f"turns-{n}" for n in range(DMS)]
    for n, mid in enumerate(mids):
        stack.post_event(mid, f"turns-user-{n}")
    wait_until(lambda: len(sandbox.messages()) >= 10, timeout=60, what="the backlog to start")
    killed = cut_connections(stack, CUT_SECONDS)

    def settled() -> bool:
        [row] = stack.rows(
            "SELECT count(*) FILTER (WHERE o.status = 'pending' AND " + LIVE_JOB + ") AS live,"
            " (SELECT count(*) FROM messages WHERE decided_at IS NULL) AS unhandled"
            " FROM outbound_messages o"
        )
        return row["live"] == 0 and row["unhandled"] == 0

    wait_until(settled, timeout=120, what="every DM sent, or left without a job")
    [dms] = stack.rows(
        "SELECT count(*) FILTER (WHERE status = 'sent') AS sent,"
        " count(*) FILTER (WHERE status = 'pending' AND NOT " + LIVE_JOB + ") AS jobless"
        " FROM outbound_messages o"
    )
    [runs] = stack.rows(
        "SELECT coalesce(sum(attempts), 0) AS runs, coalesce(max(attempts), 0) AS most,"
        " count(*) FILTER (WHERE status = 'failed') AS failed"
        " FROM procrastinate_jobs WHERE task_name IN ('decide_message', 'send_outbound')"
    )
    [jobs] = stack.rows(
        "SELECT count(DISTINCT coalesce(args ->> 'mid', args ->> 'outbound_id')) AS dms"
        " FROM procrastinate_jobs WHERE task_name IN ('decide_message', 'send_outbound')"
    )
    output = worker.output()
    lines = [json.loads(t) for t in output.splitlines() if t.startswith("{")]
    pacing_warnings = sum(
        1 for line in lines if line["level"] == "warning" and "its turn" in str(line.get("error"))
    )
    never_retrieved = output.count("Task exception was never retrieved")
    wake_ups = runs["runs"] - jobs["dms"]
    print(
        f"\n[send turns] {DMS} DMs at {RATE}/s (burst {BURST}), connections cut for "
        f"{CUT_SECONDS:g} s ({killed} backends killed): sent {dms['sent']}, "
        f"pending without a job {dms['jobless']}; job runs {runs['runs']} "
        f"(wake-ups {wake_ups}), attempts max {runs['most']}, jobs failed {runs['failed']}; "
        f"pacing warnings {pacing_warnings}; 'never retrieved' {never_retrieved}"
    )
    assert dms["jobless"] == 0
    assert dms["sent"] == DMS
    assert stack.duplicates() == 0
    # Each send beyond the burst waits for its turn once. The cut adds a run to each job it
    # met, and a second wait to each send whose turn passed while the worker could not
    # come: never a wake-up of every waiter per send.
    assert wake_ups <= (DMS - BURST) + 2 * RATE * CUT_SECONDS + 10, wake_ups
    assert pacing_warnings == 0
    at = output.find("Task exception was never retrieved")
    assert never_retrieved == 0, output[max(0, at - 1500) : at + 3000]
