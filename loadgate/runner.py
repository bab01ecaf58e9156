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
from typing import NoReturn, TextIO

import locustfiles
from loadgate.errors import TargetError

__all__ = [
    "CSV_PREFIX",
    "LOCUSTFILE",
    "RemoteWorkers",
    "RunOutcome",
    "RunRequest",
    "exec_worker",
    "new_run_dir",
    "run_locust",
    "worker_command",
]

logger = logging.getLogger(__name__)

LOCUSTFILE = Path(locustfiles.__file__).resolve().parent / "chat.py"
CSV_PREFIX = "loadgate"

# Locust's log lines look like "[time] host/LEVEL/logger: message".
_SHOWN = re.compile(
    r"/(?:(?:INFO|WARNING)/(?:locustfiles|auth|loadgate)|ERROR|CRITICAL)\b"
)
_STOP_GRACE_S = 30.0


@dataclass(frozen=True)
class RemoteWorkers:
    """Workers that are started on their own (``loadgate worker``), not by the run.

    Attributes:
        bind_host: Interface the master listens on: 127.0.0.1 for workers on this
            machine, 0.0.0.0 (or one address) for workers on other machines.
        wait_s: How long the master waits for all of them before it gives up.
    """

    bind_host: str = "127.0.0.1"
    wait_s: int = 120


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
        remote: Set when the ``workers`` start elsewhere: the master only waits
            for them.
    """

    scenario: str
    scenarios_file: Path
    host: str
    run_dir: Path
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    extra_args: Sequence[str] = ()
    workers: int = 0
    master_port: int = 5557
    remote: RemoteWorkers | None = None

    def command(self) -> list[str]:
        """Return the Locust command line of the local runner or the master."""
        role = []
        remote = self.remote or RemoteWorkers(wait_s=60)
        if self.workers > 0:
            role = [
                "--master",
                "--master-bind-host",
                remote.bind_host,
                "--master-bind-port",
                str(self.master_port),
                "--expect-workers",
                str(self.workers),
                "--expect-workers-max-wait",
                str(remote.wait_s),
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
        return worker_command(
            self.scenario, self.scenarios_file, "127.0.0.1", self.master_port
        )


def worker_command(
    scenario: str, scenarios_file: Path, master_host: str, master_port: int
) -> list[str]:
    """Return the Locust command line of a worker of the master at ``master_host``.

    The worker loads the scenario itself (its stages size the stage table), so it
    must be given the same scenario and scenarios file as its master.
    """
    return [
        *_locust(),
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
        "--scenario",
        scenario,
        "--scenarios-file",
        str(scenarios_file),
    ]


def exec_worker(command: Sequence[str], env: Mapping[str, str]) -> NoReturn:
    """Replace this process with a Locust worker (it never returns).

    The worker's signals, output and exit code are then Locust's own: SIGTERM from
    a container runtime stops it cleanly, and its log goes to stderr as is.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    environment = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    # The command is loadgate's own Locust line, never a shell string.
    os.execve(command[0], list(command), environment)  # noqa: S606


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


@dataclass(frozen=True)
class RunOutcome:
    """How a Locust run ended.

    Attributes:
        exit_code: Locust's exit code (2 when loadgate's locustfile stopped the test).
        interrupted: The run was stopped by Ctrl-C or SIGTERM before it finished.
    """

    exit_code: int
    interrupted: bool = False


def run_locust(request: RunRequest, console: TextIO | None = None) -> RunOutcome:
    """Run Locust for one scenario and wait for it to finish.

    Locust runs in its own process group, so a Ctrl-C reaches only loadgate, which
    then asks Locust once to stop (SIGINT: Locust stops the users and writes its
    CSVs, loadgate's stage table and run.json) and waits for it. A second Ctrl-C
    kills Locust at once; the files already written stay complete because they are
    replaced whole, never rewritten in place.

    Args:
        request: The run.
        console: Where progress lines go (standard error when None).

    Returns:
        Locust's exit code, and whether the run was interrupted.

    Raises:
        TargetError: Locust could not be started.
    """
    console = sys.stderr if console is None else console
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
                start_new_session=True,
            )
        except OSError as exc:
            raise TargetError(f"could not start locust: {exc}") from exc
        workers = _start_workers(request, env)
        try:
            _relay(child, log, console)
            return RunOutcome(child.wait())
        except KeyboardInterrupt:
            return RunOutcome(_stop(child, log, console), interrupted=True)
        except BaseException:
            # Whatever broke loadgate here, Locust must not go on loading alone.
            _stop(child, log, console)
            raise
        finally:
            _reap_workers(
                workers, grace_s=_STOP_GRACE_S if child.returncode == 0 else 5.0
            )


def _start_workers(
    request: RunRequest, env: Mapping[str, str]
) -> list[subprocess.Popen[bytes]]:
    workers = []
    local = 0 if request.remote is not None else request.workers
    for number in range(local):
        log = (request.run_dir / f"worker-{number + 1}.log").open("wb")
        try:
            workers.append(
                subprocess.Popen(
                    request.worker_command(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
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


def _reap_workers(workers: Sequence[subprocess.Popen[bytes]], grace_s: float) -> None:
    """Wait for workers to follow the master out; stop any that do not."""
    for worker in workers:
        try:
            worker.wait(timeout=grace_s)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
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
    console.write(
        "interrupted: stopping the users and writing what was collected "
        "(Ctrl-C again to quit at once)\n"
    )
    console.flush()
    try:
        if child.poll() is None:
            child.send_signal(signal.SIGINT)
        if child.stdout is not None:
            log.write(child.stdout.read())
        return child.wait(timeout=_STOP_GRACE_S)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        console.write("stopping locust at once\n")
        child.kill()
        return child.wait()


def _strip_prefix(line: str) -> str:
    # "[2026-01-01 10:00:00,000] host/INFO/locustfiles._recorder: text" -> "text"
    _, sep, message = line.partition(": ")
    return message if sep else line
