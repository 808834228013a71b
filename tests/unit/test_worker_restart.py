"""The pace at which the worker runs its loop again after it stopped."""

from __future__ import annotations

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
