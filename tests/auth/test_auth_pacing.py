"""The rate limiter and the backoff: spacing, slowing down on throttles, jitter bounds."""

from __future__ import annotations

import random

import pytest
from auth_helpers import FakeClock

from auth._pacing import Backoff, RateLimiter


def test_calls_are_spaced_one_over_rate_apart() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, clock=clock, sleep=clock.sleep)

    starts = []
    for _ in range(5):
        limiter.acquire()
        starts.append(clock())

    assert starts == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])


def test_waiting_callers_queue_for_later_turns() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=lambda seconds: None)

    turns = [limiter.acquire().at for _ in range(4)]

    # Nobody slept, so every caller was given the next free turn at once.
    assert turns == pytest.approx([0.0, 0.25, 0.5, 0.75])


def test_a_throttle_halves_the_rate_and_successes_win_it_back() -> None:
    clock = FakeClock()
    limiter = RateLimiter(40, clock=clock, sleep=clock.sleep, recovery=5)

    limiter.throttled(limiter.acquire())
    limiter.throttled(limiter.acquire())
    assert limiter.rate == 10

    for _ in range(3):
        limiter.succeeded()
    assert limiter.rate == 25
    for _ in range(10):
        limiter.succeeded()
    assert limiter.rate == 40


def test_calls_paced_at_one_rate_halve_it_only_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(40, clock=clock, sleep=lambda seconds: None)
    turns = [limiter.acquire() for _ in range(20)]

    # All twenty were paced at 40/s; the first throttle is enough to halve it.
    for turn in turns:
        limiter.throttled(turn)
    assert limiter.rate == 20

    # A call paced at the halved rate and throttled halves it again.
    limiter.throttled(limiter.acquire())
    assert limiter.rate == 10


def test_the_rate_never_drops_below_the_floor() -> None:
    clock = FakeClock()
    limiter = RateLimiter(8, clock=clock, sleep=clock.sleep, floor=2)

    for _ in range(10):
        limiter.throttled(limiter.acquire())

    assert limiter.rate == 2


def test_a_lower_ceiling_splits_the_budget_between_workers() -> None:
    limiter = RateLimiter(100, clock=FakeClock())

    limiter.set_ceiling(25)
    for _ in range(10):
        limiter.succeeded()

    assert limiter.rate == 25


@pytest.mark.parametrize("rate", [0, -1.5], ids=["zero", "negative"])
def test_a_rate_that_is_not_positive_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="rate must be above 0 calls per second"):
        RateLimiter(rate)


@pytest.mark.parametrize(
    ("retry", "low", "high"),
    [(1, 0.125, 0.25), (2, 0.25, 0.5), (4, 1.0, 2.0), (6, 4.0, 8.0), (12, 4.0, 8.0)],
    ids=["first", "second", "fourth", "sixth-capped", "twelfth-capped"],
)
def test_backoff_doubles_up_to_the_cap_with_half_of_it_random(
    retry: int, low: float, high: float
) -> None:
    backoff = Backoff(base_s=0.25, cap_s=8.0)
    rng = random.Random(7)

    delays = [backoff.delay(retry, rng) for _ in range(200)]

    assert all(low <= delay <= high for delay in delays)
    # Jittered: the pauses differ, so throttled callers do not come back in step.
    assert len({round(delay, 6) for delay in delays}) > 150
