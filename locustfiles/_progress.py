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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent

from loadgate.scenarios import AUTH_REQUEST_TYPE, Stage

if TYPE_CHECKING:
    from locust.env import Environment

    from locustfiles._recorder import StageRecorder

__all__ = ["PROGRESS_INTERVAL_S", "ProgressLogger", "progress_line"]

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 10.0
"""Seconds between two progress lines."""


def progress_line(
    stage: Stage,
    started: float,
    now: float,
    users: int,
    counts: Iterable[tuple[str, int, int]],
) -> str:
    """Return the progress line of a running stage.

    Args:
        stage: The stage.
        started: Epoch seconds when it started.
        now: Epoch seconds now.
        users: Users running now.
        counts: ``(request type, requests, failures)`` of each entry of the stage's
            statistics; Cognito entries are left out of the line.
    """
    elapsed = min(max(now - started, 0.0), stage.duration_s)
    api = [(n, f) for kind, n, f in counts if kind != AUTH_REQUEST_TYPE]
    requests = sum(n for n, _ in api)
    failed = sum(f for _, f in api)
    share = failed / requests if requests else 0.0
    return (
        f"progress: {stage.name} {elapsed:.0f} of {stage.duration_s:g} s, "
        f"{users} users; {requests:,} requests so far in the stage, "
        f"{failed:,} failed ({share:.1%})"
    )


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
        from locust.runners import WorkerRunner

        runner = self.environment.runner
        if isinstance(runner, WorkerRunner) or self.environment.web_ui is not None:
            return
        events = self.environment.events
        events.test_start.add_listener(self._on_test_start)
        events.test_stopping.add_listener(self._on_test_stopping)

    def line(self) -> str | None:
        """Return the progress line for now, or None while no stage is running."""
        starts = [
            (w.index, w.start)
            for w in self.recorder.windows
            if w.start is not None and not w.end
        ]
        if not starts:
            return None
        index, start = starts[-1]
        entries = self.recorder.stats[index].entries.items()
        runner = self.environment.runner
        return progress_line(
            self.recorder.scenario.stages[index],
            start,
            float(self.clock()),
            runner.user_count if runner is not None else 0,
            [(kind, e.num_requests, e.num_failures) for (_, kind), e in entries],
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
