"""The pace at which the worker runs its loop again after it stopped, and what it logs of
the jobs that a lost database kept from recording their outcome."""

from __future__ import annotations

import asyncio
import gc

import psycopg
from procrastinate.exceptions import ConnectorException

from workers import main
from workers.main import RestartPacing


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_that_keeps_stopping_at_once_is_restarted_ever_more_slowly() -> None:
    clock = Clock()
    pacing = RestartPacing(first=0.5, cap=4.0, healthy_after=60, clock=clock)
    pauses = []
    for _ in range(6):
        pauses.append(pacing.next_pause())
        clock.now += pauses[-1] + 1  # the pause, then a loop that lasts a second
    assert pauses == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_a_loop_that_ran_a_while_is_restarted_at_once() -> None:
    clock = Clock()
    pacing = RestartPacing(first=0.5, cap=4.0, healthy_after=60, clock=clock)
    clock.now += 1
    assert pacing.next_pause() == 0.5
    clock.now += 0.5 + 61  # the pause, then a loop that ran past healthy_after
    assert pacing.next_pause() == 0.0
    clock.now += 2
    assert pacing.next_pause() == 0.5


async def test_a_job_that_could_not_record_its_outcome_is_logged_once_not_left_unretrieved(
    monkeypatch,
) -> None:
    logged: list[tuple[str, dict]] = []
    monkeypatch.setattr(main.log, "warning", lambda event, **fields: logged.append((event, fields)))
    unhandled: list[dict] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda loop, context: unhandled.append(context))

    async def persist_outcome(cause: Exception) -> None:
        raise ConnectorException("Database error.") from cause

    try:
        with main.lost_job_outcomes_logged():
            lost = psycopg.OperationalError("server closed the connection unexpectedly")
            for name, cause in (
                ("process job send_outbound[7]", lost),
                ("process job send_outbound[8]", ValueError("a bug")),
            ):
                task = asyncio.create_task(persist_outcome(cause), name=name)
                await asyncio.wait({task})
                del task
            gc.collect()
    finally:
        loop.set_exception_handler(None)
    assert [(event, fields["job"]) for event, fields in logged] == [
        (
            "job outcome not recorded: the database was lost; the rescue returns the job",
            "send_outbound[7]",
        )
    ]
    # Any other failure still reaches asyncio's handler, as before.
    assert [context["message"] for context in unhandled] == ["Task exception was never retrieved"]
