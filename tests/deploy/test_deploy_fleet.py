"""A fleet as separate processes, as on separate machines: one master, two workers.

The master (``loadgate master``) is given only the target's address; each worker
(``loadgate worker``) gets the Cognito pool and password from its own environment, the
sandbox's here. The stage table the master writes must hold every request the sandbox
saw, stage by stage.
"""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import sandbox
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH
from sandbox import SandboxState, read_request_log

pytestmark = pytest.mark.e2e

# Think time of at least 0.5 s: a worker learns of a new stage a moment after the
# master, and no user may send twice within that moment, even on a busy machine.
TWO_STAGES = {
    "wait_time": {"min": 0.5, "max": 1.0},
    # Few requests: let the thresholds judge them anyway, so the run can pass.
    "min_samples": 10,
    "stages": [
        {"name": "Light", "users": 4, "spawn_rate": 4, "duration": 5},
        {"name": "Peak", "users": 8, "spawn_rate": 8, "duration": 5},
    ],
}
LOADGATE = [sys.executable, "-m", "loadgate"]


@pytest.fixture(scope="module")
def sandbox_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    with sandbox.running(tmp_path_factory.mktemp("fleet-sandbox")) as state:
        yield state


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def scenario_file(tmp_path: Path) -> Path:
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    data["scenarios"] = {"two": TWO_STAGES}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def stage_totals(run_dir: Path) -> dict[str, dict[str, str]]:
    with (run_dir / "loadgate_stages.csv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        return {row["stage"]: row for row in rows if row["endpoint"] == "total"}


def test_master_and_two_separate_workers_count_every_request(
    tmp_path: Path, sandbox_state: SandboxState
) -> None:
    scenario = ["--scenario", "two", "--scenarios-file", str(scenario_file(tmp_path))]
    port = str(free_port())
    results = tmp_path / "results"
    state_dir = Path(sandbox_state.request_log).parent
    master_command = [
        *LOADGATE,
        "master",
        "--workers",
        "2",
        "--master-port",
        port,
        "--host",
        sandbox_state.api_url,
        "--results",
        str(results),
        "--wait",
        "60",
        *scenario,
    ]
    worker_command = [
        *LOADGATE,
        "worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        port,
        "--sandbox",
        str(state_dir),
        *scenario,
    ]
    logs = [tmp_path / f"worker-{number}.log" for number in (1, 2)]

    with subprocess.Popen(
        master_command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as master:
        workers = []
        for log in logs:
            with log.open("wb") as handle:
                workers.append(
                    subprocess.Popen(
                        worker_command, stdout=handle, stderr=subprocess.STDOUT
                    )
                )
        try:
            out, err = master.communicate(timeout=120)
            codes = [worker.wait(timeout=30) for worker in workers]
        finally:
            for process in (master, *workers):
                if process.poll() is None:
                    process.kill()
                    process.wait()

    assert master.returncode == 0, err
    assert codes == [0, 0], [log.read_text() for log in logs]
    (run_dir,) = results.iterdir()
    facts = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert facts["workers"] == 2
    assert facts["degraded"] is False
    assert facts["stopped_early"] is False

    # Each worker signed in the test users of its own half of the 8 users.
    for log in logs:
        assert "cognito: 4 sign-ins" in log.read_text(encoding="utf-8")

    requests = read_request_log(sandbox_state.request_log)
    users = {"Light": 4, "Peak": 8}
    for stage, row in stage_totals(run_dir).items():
        start, end = float(row["stage_start"]), float(row["stage_end"])
        seen = sum(1 for record in requests if start <= record["ts"] < end)
        assert int(row["requests"]) > 3 * users[stage]
        # Only requests in flight at a stage boundary may land on either side of it.
        assert abs(int(row["requests"]) - seen) <= users[stage], (stage, row, seen)

    # The password stayed with the workers: not on the master's side, not in a file.
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    written = [out, err, *(p.read_text(errors="replace") for p in files)]
    assert not [text for text in written if sandbox_state.password in text]
