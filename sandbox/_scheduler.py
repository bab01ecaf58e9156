"""Applies a schedule's steps on time, from a greenlet of the chat API process.

Only the chat API process imports this module (it needs gevent). Steps already due when
a schedule is posted are applied before :meth:`Scheduler.replace` returns, so a reader
sees their effect at once; later ones are applied by one greenlet that sleeps until the
next step is due. Posting a new schedule kills that greenlet and drops the old steps.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import gevent

from sandbox._schedule import ScheduleView, Step

logger = logging.getLogger(__name__)

# The runner wakes at least this often, so a step is never late by a clock jump.
_LONGEST_NAP_S = 1.0


class Scheduler:
    """Holds the current schedule and applies its steps when they are due.

    Args:
        apply: Carries out one step (its knob change, then its outage).
        clock: Epoch seconds; steps are due by this clock.
        sleep: Waits without blocking other greenlets.
        spawn: Starts a greenlet running a function.
    """

    def __init__(
        self,
        apply: Callable[[Step], None],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = gevent.sleep,
        spawn: Callable[[Callable[[], None]], Any] = gevent.spawn,
    ) -> None:
        self._apply = apply
        self._clock = clock
        self._sleep = sleep
        self._spawn = spawn
        self._pending: list[tuple[float, Step]] = []
        self._posted_at: float | None = None
        self._applied = 0
        self._runner: Any = None

    def replace(self, steps: Sequence[Step]) -> ScheduleView:
        """Drop the current schedule and start a new one; an empty one just cancels.

        Args:
            steps: The validated steps, in any order; ties keep their given order.

        Returns:
            The new schedule, after applying the steps already due.
        """
        if self._runner is not None:
            self._runner.kill()
            self._runner = None

        posted_at = self._clock()
        order = sorted(range(len(steps)), key=lambda i: (steps[i].due(posted_at), i))
        self._pending = [(steps[i].due(posted_at), steps[i]) for i in order]
        self._posted_at = posted_at
        self._applied = 0
        logger.info("schedule posted: %s steps", len(steps))

        self._apply_due()
        if self._pending:
            self._runner = self._spawn(self._run)
        return self.view()

    def view(self) -> ScheduleView:
        """Describe the schedule.

        Returns:
            When it was posted, how many steps were applied, and the pending ones.
        """
        return {
            "posted_at": self._posted_at,
            "applied": self._applied,
            "pending": [
                {"due": due, "step": step.source} for due, step in self._pending
            ],
        }

    def _run(self) -> None:
        """Sleep until each pending step is due, then apply it."""
        while self._pending:
            wait = self._pending[0][0] - self._clock()
            if wait > 0:
                self._sleep(min(wait, _LONGEST_NAP_S))
                continue
            self._apply_due()
        self._runner = None

    def _apply_due(self) -> None:
        """Apply every step whose time has come, earliest first."""
        while self._pending and self._pending[0][0] <= self._clock():
            due, step = self._pending.pop(0)
            self._apply(step)
            self._applied += 1
            logger.info(
                "schedule step applied (due %.3f): %s",
                due,
                json.dumps(step.source, sort_keys=True),
            )
