"""Watch the load generators of a run: lost workers and CPU saturation.

On the master (or a local runner) a greenlet looks at Locust's worker list once a second
while the test runs. A worker Locust marks missing (no heartbeat) or drops is recorded as
lost, with when it was lost and the users it was running; the run is then *degraded*.
Any generator above 90 % CPU is recorded too, since its latency figures include its own
queueing. Both end up in ``run.json`` (see :meth:`FleetMonitor.facts`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gevent
from locust.env import Environment
from locust.runners import (
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    MasterRunner,
    WorkerRunner,
)

__all__ = ["CPU_LIMIT_PERCENT", "FleetMonitor"]

logger = logging.getLogger(__name__)

CPU_LIMIT_PERCENT = 90.0
"""Above this CPU share a load generator's own figures are suspect."""

_POLL_S = 1.0


@dataclass
class FleetMonitor:
    """Records lost workers and CPU warnings of one run (master or local runner).

    Args:
        environment: The Locust environment of the master or local process.
        clock: Wall clock (epoch seconds), injectable for tests.
    """

    environment: Environment
    clock: Callable[[], float] = time.time
    lost: dict[str, dict[str, Any]] = field(default_factory=dict)
    cpu_warnings: dict[str, dict[str, Any]] = field(default_factory=dict)
    most_workers: int = 0
    _users: dict[str, int] = field(default_factory=dict)
    _greenlet: Any = None

    def attach(self) -> None:
        """Start watching when the test starts; stop when it stops."""
        if isinstance(self.environment.runner, WorkerRunner):
            return
        events = self.environment.events
        events.test_start.add_listener(self._on_test_start)
        events.test_stopping.add_listener(self._on_test_stopping)
        events.cpu_warning.add_listener(self._on_cpu_warning)

    def facts(self) -> dict[str, Any]:
        """Return the run.json fields about the generators."""
        lost = sorted(self.lost.values(), key=lambda worker: worker["at"])
        return {
            "workers": self.most_workers,
            "degraded": bool(lost),
            "lost_workers": lost,
            "cpu_warnings": sorted(self.cpu_warnings.values(), key=lambda w: w["at"]),
        }

    def _on_test_start(self, **_: Any) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._watch)

    def _on_test_stopping(self, **_: Any) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
            self._greenlet = None

    def _on_cpu_warning(self, cpu_usage: float, **_: Any) -> None:
        self._cpu("local", float(cpu_usage))

    def _watch(self) -> None:
        runner = self.environment.runner
        while True:
            if isinstance(runner, MasterRunner) and runner.state in (
                STATE_SPAWNING,
                STATE_RUNNING,
            ):
                self.sample(runner)
            gevent.sleep(_POLL_S)

    def sample(self, runner: MasterRunner) -> None:
        """Look at the workers once: note users, losses and CPU."""
        now = float(self.clock())
        present = {node.id: node for node in runner.clients.all}
        self.most_workers = max(self.most_workers, runner.worker_count)
        total_users = sum(self._users.values()) or 1

        for worker_id, node in present.items():
            if node.state == STATE_MISSING:
                self._lose(worker_id, now, total_users)
                continue
            if node.user_count:
                self._users[worker_id] = node.user_count
            if node.cpu_usage > CPU_LIMIT_PERCENT:
                self._cpu(worker_id, float(node.cpu_usage))
        for worker_id in set(self._users) - set(present):
            self._lose(worker_id, now, total_users)

    def _lose(self, worker_id: str, now: float, total_users: int) -> None:
        if worker_id in self.lost:
            return
        users = self._users.get(worker_id, 0)
        self.lost[worker_id] = {
            "worker": worker_id,
            "at": now,
            "users": users,
            "share_pct": round(100.0 * users / total_users, 1),
        }
        logger.warning(
            "worker %s lost at %s (missing heartbeats or quit); it ran %d users "
            "(%.0f%%); the run is degraded and carries on with the other workers",
            worker_id,
            time.strftime("%H:%M:%S", time.localtime(now)),
            users,
            100.0 * users / total_users,
        )

    def _cpu(self, worker: str, percent: float) -> None:
        seen = self.cpu_warnings.get(worker)
        if seen is None:
            self.cpu_warnings[worker] = {
                "worker": worker,
                "at": self.clock(),
                "percent": percent,
            }
            logger.warning(
                "load generator %s above %.0f%% CPU (%.0f%%): its latency figures include "
                "its own queueing",
                worker,
                CPU_LIMIT_PERCENT,
                percent,
            )
        elif percent > seen["percent"]:
            seen["percent"] = percent
