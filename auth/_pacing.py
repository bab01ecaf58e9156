"""Pacing of Cognito calls: a rate limiter that backs off on throttling, and retry delays.

Cognito counts ``AdminInitiateAuth``, ``InitiateAuth`` and ``RespondToAuthChallenge``
against one per-account quota (about 120 calls/s by default). :class:`RateLimiter` hands
out send times at most ``rate`` per second, so a thousand users spawning at once sign in
one after the other instead of all together. A throttle halves its rate, once for all
the calls that were paced at the same rate, and each success wins a little back
(additive increase, multiplicative decrease).
:class:`Backoff` gives the pause before retry *n*: exponential, capped, half of it
random so that throttled callers do not come back in step.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Backoff", "RateLimiter", "Turn"]

Clock = Callable[[], float]
Sleep = Callable[[float], None]


class Turn(NamedTuple):
    """When a caller was allowed to send, and under which rate.

    Attributes:
        at: The clock's time of the turn.
        generation: Counts the rate's decreases before the turn was given.
    """

    at: float
    generation: int


def _sleep(seconds: float) -> None:
    # Looked up at call time so gevent's patched sleep is used under Locust.
    time.sleep(seconds)


class RateLimiter:
    """Spaces calls at most ``rate`` per second, slowing down when Cognito throttles.

    Args:
        rate: Calls per second allowed when nothing is throttled.
        clock: Monotonic clock in seconds.
        sleep: Waits a number of seconds (cooperatively under gevent).
        floor: The rate never drops below this many calls per second.
        recovery: Calls per second won back after each successful call.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
        floor: float = 1.0,
        recovery: float = 0.5,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"rate must be above 0 calls per second, got {rate!r}")
        self._ceiling = float(rate)
        self._rate = float(rate)
        self._clock = clock
        self._sleep = sleep or _sleep
        self._floor = min(floor, self._ceiling)
        self._recovery = recovery
        self._next = 0.0
        self._generation = 0
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        """The rate in force now, in calls per second."""
        return self._rate

    def set_ceiling(self, rate: float) -> None:
        """Change the highest rate, e.g. to split a run's budget between workers.

        Args:
            rate: Calls per second allowed when nothing is throttled.
        """
        if not rate > 0:
            raise ValueError(f"rate must be above 0 calls per second, got {rate!r}")
        with self._lock:
            self._ceiling = float(rate)
            self._floor = min(self._floor, self._ceiling)
            self._rate = min(self._rate, self._ceiling)

    def acquire(self) -> Turn:
        """Wait for this caller's turn to call Cognito.

        Returns:
            The caller's turn, to hand to :meth:`throttled` if Cognito throttles it.
        """
        with self._lock:
            now = self._clock()
            turn = Turn(max(now, self._next), self._generation)
            self._next = turn.at + 1.0 / self._rate
        if turn.at > now:
            self._sleep(turn.at - now)
        return turn

    def throttled(self, turn: Turn) -> None:
        """Halve the rate after Cognito answered a call with a throttle.

        Args:
            turn: The throttled call's turn. Only the first throttle among calls
                paced at one rate halves it: the others were sent too fast for
                that rate, not for the halved one.
        """
        with self._lock:
            if turn.generation != self._generation:
                return
            self._rate = max(self._floor, self._rate / 2)
            self._generation += 1

    def succeeded(self) -> None:
        """Win back a little of the rate after a call went through."""
        with self._lock:
            self._rate = min(self._ceiling, self._rate + self._recovery)


@dataclass(frozen=True)
class Backoff:
    """Exponential pauses between retries, capped, with half of each pause random.

    Attributes:
        base_s: The pause before the first retry, at most.
        cap_s: No pause is longer than this.
    """

    base_s: float = 0.25
    cap_s: float = 8.0

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Return the pause before retry number ``retry`` (1 for the first).

        Args:
            retry: Which retry this is, from 1.
            rng: Source of the random half; the module's generator when None.

        Returns:
            Seconds, between half of and the full capped exponential step.
        """
        step = min(self.cap_s, self.base_s * 2.0 ** max(retry - 1, 0))
        draw = rng.random() if rng is not None else random.random()
        return step / 2 + step / 2 * draw
