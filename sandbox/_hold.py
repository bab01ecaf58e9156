"""Holding a request for its latency knob, on time.

gevent's timers do not end when asked: its loop waits in ``epoll``, whose timeout counts
whole milliseconds, rounded up, then takes a moment to wake, and a timer counts from the
loop's clock, read when the loop last woke rather than when the timer was started. A
plain ``gevent.sleep`` held a 50 ms knob for 50.6 ms at the median and 51.5 ms at p95 on
a 2-core machine; how far off depends on the moment, so no fixed allowance fits.

:class:`Hold` corrects by feedback instead: it measures how far each hold ended from its
due time and shortens (or lengthens) the next nap by a fraction of that, keeping the
mean on time whatever the cause. Holds then end within about half a millisecond of their
due time, with no CPU spent while they wait (spinning through the last fraction would
be exact, but it keeps a core busy that the sandbox's clients on the same machine need,
and they measured slower for it).

Lateness beyond :data:`MAX_ERROR_S` is the sandbox being busy, not its timer: it is left
for the clients to see, and the correction never exceeds :data:`MAX_LEAD_S`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: The largest part of one hold's error the correction takes in, in seconds.
MAX_ERROR_S = 0.001
#: The most a nap is shortened by, in seconds.
MAX_LEAD_S = 0.0015
#: The fraction of each hold's error taken into the correction.
GAIN = 0.1


class Hold:
    """Waits a given time, each nap corrected by how far the earlier ones ended off.

    Args:
        sleep: Waits without blocking other requests (``gevent.sleep`` in the
            sandbox process); ``sleep(0)`` yields once.
        timer: A monotonic clock in seconds.
    """

    def __init__(
        self,
        sleep: Callable[[float], None],
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._sleep = sleep
        self._timer = timer
        self._lead = 0.0

    @property
    def lead_s(self) -> float:
        """Seconds the next nap ends before the time asked for."""
        return self._lead

    def __call__(self, seconds: float) -> None:
        """Wait about ``seconds``; a time shorter than the correction yields once.

        Args:
            seconds: How long to wait.
        """
        due = self._timer() + seconds
        nap = seconds - self._lead
        if nap <= 0:
            self._sleep(0.0)
            return
        self._sleep(nap)
        error = min(max(self._timer() - due, -MAX_ERROR_S), MAX_ERROR_S)
        self._lead = min(max(self._lead + GAIN * error, 0.0), MAX_LEAD_S)
