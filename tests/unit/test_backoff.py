"""The one exponential backoff, and the retry policy that uses it."""

from __future__ import annotations

import datetime
import itertools
import types

import pytest

from service.core.backoff import backoff_seconds, waits
from service.core.jobs import RetryLater
from workers.retry_strategy import IngestRetryStrategy


def test_the_wait_doubles_from_the_base_up_to_the_cap() -> None:
    assert [backoff_seconds(n, base=1.0, cap=10.0) for n in range(1, 7)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
        10.0,
    ]


def test_a_base_above_the_cap_waits_the_cap() -> None:
    assert backoff_seconds(1, base=5.0, cap=2.0) == 2.0


@pytest.mark.parametrize("attempt", [0, -3])
def test_an_attempt_below_one_waits_the_base(attempt: int) -> None:
    assert backoff_seconds(attempt, base=0.5, cap=30.0) == 0.5


@pytest.mark.parametrize("attempt", [1_100, 10**9])
def test_a_huge_attempt_waits_the_cap_without_overflow(attempt: int) -> None:
    assert backoff_seconds(attempt, base=0.001, cap=600.0) == 600.0


def test_waits_are_the_waits_of_attempts_one_two_three() -> None:
    assert list(itertools.islice(waits(base=0.1, cap=0.5), 6)) == [0.1, 0.2, 0.4, 0.5, 0.5, 0.5]


def job(attempts: int):
    return types.SimpleNamespace(id=1, attempts=attempts)


def retry_in(decision) -> float:
    """The decision's wait, to the tenth of a second (procrastinate keeps a time)."""
    now = datetime.datetime.now(datetime.UTC)
    return round((decision.retry_at - now).total_seconds(), 1)


def test_unexpected_errors_are_retried_with_backoff_a_bounded_number_of_times() -> None:
    strategy = IngestRetryStrategy(max_unexpected=4, base_seconds=1.0, cap_seconds=5.0)
    error = RuntimeError("a database hiccup")
    delays = [retry_in(strategy.get_retry_decision(exception=error, job=job(n))) for n in range(4)]
    assert delays == [1.0, 2.0, 4.0, 5.0]
    assert strategy.get_retry_decision(exception=error, job=job(4)) is None


def test_retry_later_runs_again_after_exactly_its_wait_however_often() -> None:
    strategy = IngestRetryStrategy(max_unexpected=2)
    decision = strategy.get_retry_decision(exception=RetryLater(42.5, "busy"), job=job(99))
    assert retry_in(decision) == 42.5
