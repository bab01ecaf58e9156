"""The latency hold, on a clock that naps the way gevent's loop does on Linux.

A nap there ends at the next whole millisecond after the time asked for, plus a wake
and, for long naps, a drift of 0.1 %; ``sleep(0)`` moves the clock by a loop turn.
"""

from __future__ import annotations

import math

import pytest

from sandbox._hold import LAST_NAP_S, MAX_LEAD_S, STEP_S, Hold

TURN_S = 0.00002


class GeventLikeTimer:
    """A clock whose naps round up to whole milliseconds, then wake ``wake`` late."""

    def __init__(self, wake: float, drift: float = 0.001) -> None:
        self.now = 10.0
        self.wake = wake
        self.drift = drift
        self.naps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        if seconds <= 0:
            self.now += TURN_S
            return
        rounded = math.ceil(round(seconds * 1000.0, 9)) / 1000.0
        self.now += rounded * (1 + self.drift) + self.wake

    @property
    def turns(self) -> int:
        return self.naps.count(0.0)


def took(timer: GeventLikeTimer, hold: Hold, seconds: float) -> float:
    """How long one hold of ``seconds`` took on the clock."""
    started = timer.now
    hold(seconds)
    return timer.now - started


def test_a_plain_nap_is_late_by_the_rounding_and_the_wake() -> None:
    # What the hold corrects: the clock asked for the fraction directly.
    timer = GeventLikeTimer(wake=0.0003)

    timer.sleep(0.0492)

    assert timer.now - 10.0 == pytest.approx(0.0492 + 0.0008 + 0.00005 + 0.0003)


@pytest.mark.parametrize("wake", [0.0, 0.0003, 0.0008])
@pytest.mark.parametrize("seconds", [0.0005, 0.001, 0.0492, 0.050, 0.4001, 10.0])
def test_a_hold_is_never_short_and_ends_within_a_millisecond(
    wake: float, seconds: float
) -> None:
    timer = GeventLikeTimer(wake)
    hold = Hold(timer.sleep, timer)
    for _ in range(50):
        hold(0.050)

    held = [took(timer, hold, seconds) for _ in range(5)]

    assert all(seconds <= took_s <= seconds + 0.001 for took_s in held), held


def test_a_long_hold_naps_in_steps() -> None:
    timer = GeventLikeTimer(wake=0.0003)
    hold = Hold(timer.sleep, timer)

    hold(2.0)

    naps = [nap for nap in timer.naps if nap > 0]
    assert len(naps) >= 5
    assert max(naps) <= STEP_S
    assert naps[-1] <= LAST_NAP_S


def test_the_lead_settles_so_few_holds_spend_turns() -> None:
    timer = GeventLikeTimer(wake=0.0003)
    hold = Hold(timer.sleep, timer)
    for _ in range(100):
        hold(0.050)
    before = timer.turns

    for _ in range(100):
        hold(0.050)

    # One yield per hold, plus a few turns on the holds whose nap ended early.
    assert timer.turns - before < 100 + 100 * 0.001 / TURN_S / 2
    assert 0.0 < hold.lead_s <= MAX_LEAD_S


def test_a_busy_loop_raises_the_lead_no_further_than_its_cap() -> None:
    timer = GeventLikeTimer(wake=0.004)
    hold = Hold(timer.sleep, timer)

    durations = [took(timer, hold, 0.050) for _ in range(200)]

    assert hold.lead_s == pytest.approx(MAX_LEAD_S)
    # Naps of 49 ms end 4 ms late: the busy sandbox's lateness shows, shortened by
    # the lead and no more.
    assert durations[-1] == pytest.approx(0.049 * 1.001 + 0.004 + TURN_S)


def test_a_hold_shorter_than_the_lead_spends_turns_until_due() -> None:
    timer = GeventLikeTimer(wake=0.0008)
    hold = Hold(timer.sleep, timer)
    for _ in range(100):
        hold(0.050)
    assert hold.lead_s > 0.0005

    assert took(timer, hold, 0.0005) >= 0.0005
    assert timer.naps[-1] == 0.0
