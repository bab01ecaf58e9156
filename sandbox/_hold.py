"""Holding a request for its latency knob, on time and never short of it.

gevent's timers do not end when asked: its loop waits in ``epoll``, whose timeout counts
whole milliseconds, rounded up, then takes a moment to wake; a timer counts from the
loop's clock, read when the loop last woke; and a long timer drifts (10 s ran 10 ms
late). A plain ``gevent.sleep`` held a 50 ms knob for 50.6 ms at the median and 51.5 ms
at p95 on a 2-core machine, by amounts that change from moment to moment.

:class:`Hold` therefore naps in steps and finishes on the clock:

* a hold longer than :data:`LAST_NAP_S` naps in steps of at most :data:`STEP_S`
  until less than that is left, so the drift of each step is corrected by the next;
* the last nap ends a lead earlier than due; the lead is learnt from how far earlier
  naps ended from their due time (a running correction, by a tenth of each error), and
  never exceeds :data:`MAX_LEAD_S`;
* what is left after the last nap is spent yielding to the other requests
  (``sleep(0)``, one turn of the loop each) until the due time when it is at most
  :data:`SPIN_S`, and napped once more otherwise.

A hold so never ends before its due time, and ends after it when the timer was late or
the loop busy with other requests; that lateness is left for the clients to see. With
the lead learnt, about half the last naps end early and yield for a fraction of a
millisecond; spinning through the last 1.5 ms of every hold instead kept a core busy
that the sandbox's clients on the same machine needed, and they measured slower for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: The longest single nap, in seconds: a longer hold naps again to correct the drift.
STEP_S = 0.5
#: The longest last nap, in seconds: short enough that its drift is a few microseconds.
LAST_NAP_S = 0.1
#: The most a last nap ends before the due time, in seconds.
MAX_LEAD_S = 0.0015
#: The longest wait spent yielding rather than napping, in seconds.
SPIN_S = 0.001
#: The fraction of each last nap's error taken into the lead.
GAIN = 0.1


class Hold:
    """Waits a given time: naps corrected by a learnt lead, then yields until due.

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
        """Seconds before the due time the next last nap is meant to end."""
        return self._lead

    def __call__(self, seconds: float) -> None:
        """Wait until ``seconds`` have passed; a zero or negative time yields once.

        Args:
            seconds: How long to wait.
        """
        due = self._timer() + seconds
        while (left := due - self._timer() - self._lead) > LAST_NAP_S:
            self._sleep(min(STEP_S, left - LAST_NAP_S / 2))
        nap = due - self._timer() - self._lead
        if nap > 0:
            self._sleep(nap)
            self._learn(self._timer() - due)
        left = due - self._timer()
        if left > SPIN_S:
            # Ended well before due (or asked for less than the lead): one more nap,
            # late by the timer's rounding, rather than a long spin.
            self._sleep(left)
        self._sleep(0.0)
        while self._timer() < due:
            self._sleep(0.0)

    def _learn(self, error: float) -> None:
        """Move the lead by a last nap's error: negative when it ended before due."""
        error = max(min(error, MAX_LEAD_S), -MAX_LEAD_S)
        self._lead = min(max(self._lead + GAIN * error, 0.0), MAX_LEAD_S)
