"""Run a scenario with Locust in a child process and collect its results directory.

The child is ``python -m locust`` with loadgate's locustfile, headless, writing its CSVs
with the prefix ``<run_dir>/loadgate``. Everything it prints goes to
``<run_dir>/locust.log``; the console only gets loadgate's own progress lines and errors,
so a CI log stays readable.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import locustfiles
from loadgate.errors import TargetError

__all__ = ["CSV_PREFIX", "LOCUSTFILE", "RunRequest", "new_run_dir", "run_locust"]

logger = logging.getLogger(__name__)

LOCUSTFILE = Path(locustfiles.__file__).resolve().parent / "chat.py"
CSV_PREFIX = "loadgate"

# Locust's log lines look like "[time] host/LEVEL/logger: message".
_SHOWN = re.compile(
    r"/(?:(?:INFO|WARNING)/(?:locustfiles|auth|loadgate)|ERROR|CRITICAL)\b"
)
_STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class RunRequest:
    """What to run and where its results go.

    Attributes:
        scenario: Scenario name in the scenarios file.
        scenarios_file: Path of the scenarios file.
        host: Base URL of the target.
        run_dir: Directory for the CSVs, logs and reports of this run.
        env: Extra environment for Locust (Cognito ids, endpoint, password).
        extra_args: More Locust arguments, passed through as given.
        workers: Worker processes on this machine; 0 runs one local process.
        master_port: Port the master binds for its workers (when ``workers`` > 0).
    """

    scenario: str
    scenarios_file: Path
    host: str
    run_dir: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    extra_args: Sequence[str] = ()
    workers: int = 0
    master_port: int = 5557

    def command(self) -> list[str]:
        """Return the Locust command line of the local runner or the master."""
        role = []
        if self.workers > 0:
            role = [
                "--master",
                "--master-bind-host",
                "127.0.0.1",
                "--master-bind-port",
                str(self.master_port),
                "--expect-workers",
                str(self.workers),
                "--expect-workers-max-wait",
                "60",
                # A lost worker's users are started again on the others.
                "--enable-rebalancing",
            ]
        return [
            *_locust(),
            *role,
            "--headless",
            "--host",
            self.host,
            "--scenario",
            self.scenario,
            "--scenarios-file",
            str(self.scenarios_file),
            "--csv",
            str(self.run_dir / CSV_PREFIX),
            "--csv-full-history",
            "--html",
            str(self.run_dir / "locust.html"),
            "--only-summary",
            "--exit-code-on-error",
            "0",
            *self.extra_args,
        ]

    def worker_command(self) -> list[str]:
        """Return the Locust command line of one worker of this run."""
        return [
            *_locust(),
            "--worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(self.master_port),
            "--scenario",
            self.scenario,
            "--scenarios-file",
            str(self.scenarios_file),
        ]


def _locust() -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)]


def new_run_dir(results: Path, scenario: str, clock: float | None = None) -> Path:
    """Create and return ``results/<timestamp>-<scenario>`` (never an existing one)."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(clock))
    run_dir = results / f"{stamp}-{scenario}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = results / f"{stamp}-{scenario}-{suffix}"
    run_dir.mkdir(parents=True)
    return run_dir


def run_locust(request: RunRequest, console: TextIO = sys.stderr) -> int:
    """Run Locust for one scenario and wait for it to finish.

    Args:
        request: The run.
        console: Where progress lines go.

    Returns:
        Locust's exit code (2 when loadgate's locustfile stopped the test).

    Raises:
        TargetError: Locust could not be started.
    """
    env = {**os.environ, **request.env, "PYTHONUNBUFFERED": "1"}
    log_path = request.run_dir / "locust.log"
    logger.debug("starting locust: %s", " ".join(request.command()))
    with log_path.open("w", encoding="utf-8") as log:
        try:
            child = subprocess.Popen(
                request.command(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except OSError as exc:
            raise TargetError(f"could not start locust: {exc}") from exc
        workers = _start_workers(request, env)
        try:
            _relay(child, log, console)
            return child.wait()
        except KeyboardInterrupt:
            return _stop(child, log, console)
        finally:
            _reap_workers(workers)


def _start_workers(
    request: RunRequest, env: Mapping[str, str]
) -> list[subprocess.Popen[bytes]]:
    workers = []
    for number in range(request.workers):
        log = (request.run_dir / f"worker-{number + 1}.log").open("wb")
        try:
            workers.append(
                subprocess.Popen(
                    request.worker_command(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                )
            )
        finally:
            log.close()
    if workers:
        pids = {"workers": [worker.pid for worker in workers]}
        (request.run_dir / "workers.json").write_text(
            json.dumps(pids), encoding="utf-8"
        )
    return workers


def _reap_workers(workers: Sequence[subprocess.Popen[bytes]]) -> None:
    """Wait for workers to follow the master out; stop any that do not."""
    for worker in workers:
        try:
            worker.wait(timeout=_STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            logger.warning(
                "worker %d did not stop with the master; killing it", worker.pid
            )
            worker.kill()
            worker.wait()


def _relay(child: subprocess.Popen[str], log: TextIO, console: TextIO) -> None:
    if child.stdout is None:
        return
    for line in child.stdout:
        log.write(line)
        if _SHOWN.search(line):
            console.write(_strip_prefix(line))
            console.flush()


def _stop(child: subprocess.Popen[str], log: TextIO, console: TextIO) -> int:
    console.write("interrupted: stopping locust and writing what was collected\n")
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
    try:
        if child.stdout is not None:
            log.write(child.stdout.read())
        return child.wait(timeout=_STOP_GRACE_S)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        child.kill()
        return child.wait()


def _strip_prefix(line: str) -> str:
    # "[2026-01-01 10:00:00,000] host/INFO/locustfiles._recorder: text" -> "text"
    _, sep, message = line.partition(": ")
    return message if sep else line
