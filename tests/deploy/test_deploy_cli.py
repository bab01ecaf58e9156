"""``loadgate master`` and ``loadgate worker``: their Locust command lines and errors."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from loadgate.runner import RemoteWorkers, RunRequest, worker_command


def loadgate(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadgate", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        # No Cognito settings from the machine running the tests.
        env={k: v for k, v in os.environ.items() if not k.startswith("LOADGATE_")},
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def value(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_master_of_remote_workers_listens_where_told_and_rebalances() -> None:
    request = RunRequest(
        "demo",
        Path("scenarios.yaml"),
        "http://127.0.0.1:8080",
        Path("results/run"),
        workers=3,
        master_port=6000,
        remote=RemoteWorkers(bind_host="0.0.0.0", wait_s=300),
    )

    command = request.command()

    assert value(command, "--master-bind-host") == "0.0.0.0"
    assert value(command, "--master-bind-port") == "6000"
    assert value(command, "--expect-workers") == "3"
    assert value(command, "--expect-workers-max-wait") == "300"
    assert "--enable-rebalancing" in command


def test_local_workers_keep_the_master_on_this_machine() -> None:
    request = RunRequest(
        "demo", Path("s.yaml"), "http://127.0.0.1:8080", Path("r"), workers=2
    )

    assert value(request.command(), "--master-bind-host") == "127.0.0.1"
    assert value(request.command(), "--expect-workers-max-wait") == "60"
    assert value(request.worker_command(), "--master-host") == "127.0.0.1"


def test_worker_command_names_the_master_and_the_scenario() -> None:
    command = worker_command(
        "demo", Path("/etc/loadgate/scenarios.yaml"), "10.0.0.5", 6000
    )

    assert command[1:3] == ["-m", "locust"]
    assert "--worker" in command
    assert value(command, "--master-host") == "10.0.0.5"
    assert value(command, "--master-port") == "6000"
    assert value(command, "--scenario") == "demo"
    assert value(command, "--scenarios-file") == "/etc/loadgate/scenarios.yaml"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["master", "--workers", "0", "--host", "http://127.0.0.1:9"],
            "error: --workers: 0 is not allowed; expected 1 or more (the workers this "
            "master waits for)",
        ),
        (
            ["worker", "--master-host", "127.0.0.1", "--scenario", "nope"],
            "error: scenarios.yaml: scenarios: no scenario 'nope'",
        ),
        (
            ["worker", "--master-host", "127.0.0.1", "--scenario", "demo"],
            "error: Cognito settings are empty: auth.user_pool_id, auth.client_id, "
            "auth.users.password (set LOADGATE_USER_POOL_ID",
        ),
    ],
    ids=["master-without-workers", "worker-unknown-scenario", "worker-without-cognito"],
)
def test_bad_fleet_input_gives_one_line_and_exit_2(
    args: list[str], message: str
) -> None:
    done = loadgate(*args)

    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(message), line
    assert "Starting Locust" not in done.stdout + done.stderr


def test_worker_needs_the_master_host() -> None:
    done = loadgate("worker")

    assert done.returncode == 2
    assert "the following arguments are required: --master-host" in done.stderr


def test_master_gives_up_when_workers_do_not_come(tmp_path: Path) -> None:
    done = loadgate(
        "master",
        "--workers",
        "1",
        "--wait",
        "1",
        "--master-port",
        str(free_port()),
        "--scenario",
        "demo",
        "--host",
        "http://127.0.0.1:9",
        "--results",
        str(tmp_path),
    )

    assert done.returncode == 2
    assert "Gave up waiting for workers to connect" in done.stderr
    (run_dir,) = tmp_path.iterdir()
    assert not (run_dir / "run.json").exists()
