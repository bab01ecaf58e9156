"""Progress lines on the console while a headless run goes: where it is, how it goes.

The stage-start lines alone leave a long stage silent. On the master (or the one local
process) a greenlet logs one line every :data:`PROGRESS_INTERVAL_S` while a stage runs:
its name, how far into it the run is, the users, and the stage's API requests and
failures so far (Cognito sign-ins left out, as in the stage table). On a master the
workers' figures arrive every few seconds, so the counts trail by that much. The web UI
shows its own live figures, so it gets none.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import WorkerRunner

from locustfiles._recorder import AUTH_REQUEST_TYPE, StageRecorder

__all__ = ["PROGRESS_INTERVAL_S", "ProgressLogger"]

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 10.0
"""Seconds between two progress lines."""


@dataclass
class ProgressLogger:
    """Logs a progress line for the running stage at a fixed interval.

    Args:
        environment: The Locust environment of the master or local process.
        recorder: The stage recorder whose windows and counts are reported.
        interval_s: Seconds between lines.
        clock: Wall clock (epoch seconds), injectable for tests.
    """

    environment: Environment
    recorder: StageRecorder
    interval_s: float = PROGRESS_INTERVAL_S
    clock: Callable[[], float] = time.time
    _greenlet: Any = None

    def attach(self) -> None:
        """Start logging when a headless test starts; stop when it stops."""
        runner = self.environment.runner
        if isinstance(runner, WorkerRunner) or self.environment.web_ui is not None:
            return
        events = self.environment.events
        events.test_start.add_listener(self._on_test_start)
        events.test_stopping.add_listener(self._on_test_stopping)

    def line(self) -> str | None:
        """Return the progress line for now, or None while no stage is running."""
        running = [
            w for w in self.recorder.windows if w.start is not None and not w.end
        ]
        if not running:
            return None
        window = running[-1]
        stage = self.recorder.scenario.stages[window.index]
        elapsed = min(float(self.clock()) - float(window.start or 0), stage.duration_s)

        entries = [
            entry
            for (_, method), entry in self.recorder.stats[window.index].entries.items()
            if method != AUTH_REQUEST_TYPE
        ]
        requests = sum(entry.num_requests for entry in entries)
        failed = sum(entry.num_failures for entry in entries)
        share = failed / requests if requests else 0.0
        users = self.environment.runner.user_count if self.environment.runner else 0
        return (
            f"progress: {stage.name} {elapsed:.0f} of {stage.duration_s:g} s, "
            f"{users} users; {requests:,} requests so far in the stage, "
            f"{failed:,} failed ({share:.1%})"
        )

    def _on_test_start(self, **_: Any) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._loop)

    def _on_test_stopping(self, **_: Any) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _loop(self) -> None:
        while True:
            gevent.sleep(self.interval_s)
            text = self.line()
            if text is not None:
                logger.info("%s", text)
