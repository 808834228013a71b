"""A worker killed (SIGKILL) while it runs the crash rescue itself: the next rescue, on
another worker, still cleans up, the killed rescue's own jobs included."""

from __future__ import annotations

import collections
import json
import re
import time

import psycopg
from psycopg.rows import dict_row

from service.core import jobs
from tests.support import seed
from tests.support.processes import wait_until


def test_a_worker_killed_inside_the_rescue_leaves_nothing_stalled(faults):
    stack = faults()
    with stack.db() as db:
        # A job of a worker that died earlier, for the rescue to find.
        earlier = seed.stalled_job(db)
        # Each rescue starts by deleting the rows of those that succeeded: with this one's
        # row locked, every rescue the victim starts waits inside the task.
        done = seed.job(
            db, task=jobs.RESCUE_STALLED_JOBS, queue=jobs.QUEUE_MAINTENANCE, status="succeeded"
        )
        holder = psycopg.connect(stack.url, row_factory=dict_row)
        holder.execute("SELECT id FROM procrastinate_jobs WHERE id = %s FOR UPDATE", (done,))
        victim = stack.start_worker()

        def victims_rescues() -> list[int]:
            rows = stack.rows(
                "SELECT id FROM procrastinate_jobs WHERE task_name = %s AND status = 'doing'"
                " AND worker_id = ANY (%s)",
                jobs.RESCUE_STALLED_JOBS,
                victim.worker_ids,
            )
            return [row["id"] for row in rows]

        def waiting_on_the_lock() -> int:
            return stack.rows(
                "SELECT count(*) AS n FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )[0]["n"]

        # Two of them, so that putting the first back in the queue leaves the second's
        # queueing lock held by a waiting sibling.
        wait_until(
            lambda: len(victims_rescues()) >= 2 and waiting_on_the_lock() >= 2,
            timeout=30,
            what="two rescues running on the victim",
        )
        stuck = victims_rescues()
        victim.kill()
        killed_at = time.monotonic()
        holder.rollback()
        holder.close()
        survivor = stack.start_worker()

        def left_doing() -> list[dict]:
            return stack.rows(
                "SELECT id, task_name, status::text FROM procrastinate_jobs"
                " WHERE status = 'doing' AND (worker_id IS NULL OR worker_id <> ALL (%s))",
                survivor.worker_ids,
            )

        wait_until(lambda: not left_doing(), timeout=60, what="no stalled job left doing")
        cleaned = time.monotonic() - killed_at
        # One run of the survivor's rescue, the first to take up the killed ones, handled
        # every one of them: put back in the queue, or failed as superseded by the sibling
        # that waits with their queueing lock.
        runs = handled_by_run(survivor.output())
        first = next(names for names in runs.values() if names & set(stuck))
        assert set(stuck) <= first, (stuck, runs)
        assert earlier in set().union(*runs.values())

        def rescue_succeeded_on_survivor() -> bool:
            return bool(
                stack.rows(
                    "SELECT 1 FROM procrastinate_jobs WHERE task_name = %s"
                    " AND status = 'succeeded' AND worker_id = ANY (%s)",
                    jobs.RESCUE_STALLED_JOBS,
                    survivor.worker_ids,
                )
            )

        wait_until(rescue_succeeded_on_survivor, timeout=30, what="the rescue to go on running")
    print(
        f"\n[worker SIGKILL inside the rescue] rescues killed: {len(stuck)}; "
        f"nothing left stalled {cleaned:.1f}s after the kill"
    )


HANDLED = {"rescued jobs of stalled workers", "failed stalled jobs a waiting job supersedes"}


def handled_by_run(output: str) -> dict[int, set[int]]:
    """The ids of the jobs each rescue run (by its job id) put back or failed, in order."""
    runs: dict[int, set[int]] = collections.defaultdict(set)
    for text in output.splitlines():
        if text.startswith("{"):
            line = json.loads(text)
            if line.get("event") in HANDLED:
                runs[line["job_id"]].update(
                    int(re.fullmatch(r".*\[(\d+)\]", name)[1]) for name in line["jobs"]
                )
    return runs
