"""The latency hold, on a clock that naps the way gevent's loop does on Linux.

A nap there ends at the next whole millisecond after the time asked for, plus a wake.
"""

from __future__ import annotations

import math
import statistics

import pytest

from sandbox._hold import MAX_LEAD_S, Hold


class GeventLikeTimer:
    """A clock whose naps round up to whole milliseconds, then wake ``wake`` late."""

    def __init__(self, wake: float) -> None:
        self.now = 10.0
        self.wake = wake
        self.naps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        if seconds > 0:
            self.now += math.ceil(round(seconds * 1000.0, 9)) / 1000.0 + self.wake


def took(timer: GeventLikeTimer, hold: Hold, seconds: float) -> float:
    """How long one hold of ``seconds`` took on the clock."""
    started = timer.now
    hold(seconds)
    return timer.now - started


def test_a_plain_nap_is_late_by_the_rounding_and_the_wake() -> None:
    # What the hold corrects: the clock asked for the fraction directly.
    timer = GeventLikeTimer(wake=0.0003)

    timer.sleep(0.0492)

    assert timer.now - 10.0 == pytest.approx(0.0503)


@pytest.mark.parametrize("wake", [0.0001, 0.0003, 0.0008])
@pytest.mark.parametrize("seconds", [0.0492, 0.050, 0.0503, 0.4001])
def test_holds_settle_on_the_time_asked_for(wake: float, seconds: float) -> None:
    timer = GeventLikeTimer(wake)
    hold = Hold(timer.sleep, timer)
    for _ in range(100):
        hold(seconds)

    settled = [took(timer, hold, seconds) for _ in range(100)]

    assert statistics.fmean(settled) == pytest.approx(seconds, abs=0.0001)
    assert max(abs(held - seconds) for held in settled) < 0.0011
    assert 0.0 < hold.lead_s <= MAX_LEAD_S


def test_lateness_beyond_the_timer_is_left_to_show() -> None:
    timer = GeventLikeTimer(wake=0.004)
    hold = Hold(timer.sleep, timer)

    durations = [took(timer, hold, 0.050) for _ in range(200)]

    assert hold.lead_s == pytest.approx(MAX_LEAD_S)
    # Naps of 48.5 ms end at 49 ms plus the 4 ms the busy loop took to wake.
    assert durations[-1] == pytest.approx(0.053)


def test_naps_that_end_early_are_lengthened_back() -> None:
    timer = GeventLikeTimer(wake=0.0003)
    hold = Hold(timer.sleep, timer)
    for _ in range(100):
        hold(0.050)
    timer.wake = -0.002

    for _ in range(200):
        hold(0.050)

    assert hold.lead_s == 0.0
    assert timer.naps[-1] == 0.050


def test_a_hold_shorter_than_the_lead_only_yields() -> None:
    timer = GeventLikeTimer(wake=0.0008)
    hold = Hold(timer.sleep, timer)
    for _ in range(100):
        hold(0.050)

    hold(hold.lead_s / 2)

    assert timer.naps[-1] == 0.0
