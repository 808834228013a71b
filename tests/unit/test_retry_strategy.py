"""The worker's retry strategy: waits are re-scheduled as asked and cost nothing; only
unexpected errors spend a job's error budget."""

from __future__ import annotations

import psycopg
from procrastinate.jobs import Job

from service.core.jobs import RetryLater
from workers.retry_strategy import IngestRetryStrategy


def job(attempts: int, job_id: int = 1) -> Job:
    return Job(
        id=job_id,
        queue="outbound",
        lock=None,
        queueing_lock=None,
        task_name="send_outbound",
        attempts=attempts,
    )


def test_a_job_that_waited_for_its_turn_many_times_still_has_its_whole_error_budget():
    strategy = IngestRetryStrategy(max_unexpected=3)
    for attempts in range(20):  # twenty waits for a turn under GRAPH_SEND_RATE
        assert strategy.get_retry_decision(exception=RetryLater(0.2, "turn"), job=job(attempts))
    outage = psycopg.OperationalError("server closed the connection unexpectedly")
    decisions = [strategy.get_retry_decision(exception=outage, job=job(20 + n)) for n in range(4)]
    assert [decision is not None for decision in decisions] == [True, True, True, False]


def test_the_error_budget_is_per_job():
    strategy = IngestRetryStrategy(max_unexpected=2)
    boom = ValueError("a bug")
    assert strategy.get_retry_decision(exception=boom, job=job(0, job_id=1))
    assert strategy.get_retry_decision(exception=boom, job=job(1, job_id=1))
    assert strategy.get_retry_decision(exception=boom, job=job(2, job_id=1)) is None
    assert strategy.get_retry_decision(exception=boom, job=job(0, job_id=2))
