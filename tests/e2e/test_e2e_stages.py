"""End to end: per-stage statistics, distributed runs and rate stages (issue 3)."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import Loadgate, scenario_file, set_knobs, stage_totals, state_dir

import sandbox
from reporting.precision import percentile_band
from sandbox import SandboxState, read_request_log

pytestmark = pytest.mark.e2e


# Think time longer than the master-to-worker delay of a stage change, so a user sends
# at most one request in that gap (and the tolerance below holds).
TWO_STAGES = {
    "wait_time": {"min": 0.5, "max": 1.0},
    # A short run: judged on few samples, so that the healthy sandbox passes (exit 0).
    "min_samples": 5,
    "stages": [
        {"name": "Light", "users": 4, "spawn_rate": 4, "duration": 6},
        {"name": "Peak", "users": 8, "spawn_rate": 8, "duration": 6},
    ],
}


def test_distributed_counts_match_the_sandbox_log(
    tmp_path: Path, sandbox_state: SandboxState, loadgate: Loadgate
) -> None:
    path = scenario_file(tmp_path, "two", TWO_STAGES)

    done = loadgate(
        "run",
        "--scenario",
        "two",
        "--scenarios-file",
        str(path),
        "--sandbox",
        state_dir(sandbox_state),
        "--workers",
        "2",
    )

    assert done.code == 0, done.stderr
    totals = stage_totals(done.run_dir())
    log = read_request_log(sandbox_state.request_log)
    users = {"Light": 4, "Peak": 8}
    for stage, row in totals.items():
        start, end = float(row["stage_start"]), float(row["stage_end"])
        seen = sum(1 for record in log if start <= record["ts"] < end)
        assert int(row["requests"]) > 20
        # Only requests in flight at a stage boundary may land on either side of it.
        assert abs(int(row["requests"]) - seen) <= users[stage], stage


RATE = {
    "wait_time": {"min": 0.5, "max": 1},
    "stages": [
        {"name": "Warm", "users": 20, "spawn_rate": 20, "duration": 2},
        {
            "name": "Paced",
            "users": 20,
            "spawn_rate": 20,
            "duration": 20,
            "rate": "6000/min",
        },
    ],
}


@pytest.mark.serial
def test_rate_stage_reaches_its_target(
    tmp_path: Path, sandbox_state: SandboxState, loadgate: Loadgate
) -> None:
    path = scenario_file(tmp_path, "rate", RATE)

    done = loadgate(
        "run",
        "--scenario",
        "rate",
        "--scenarios-file",
        str(path),
        "--sandbox",
        state_dir(sandbox_state),
    )

    assert done.code == 0, done.stderr
    paced = stage_totals(done.run_dir())["Paced"]
    assert float(paced["target_rps"]) == 100
    assert float(paced["throughput_rps"]) == pytest.approx(100, rel=0.03)
    assert int(paced["late_sends"]) < 0.1 * int(paced["requests"])


def test_slow_target_shows_shortfall_and_corrected_latency(
    tmp_path: Path, sandbox_state: SandboxState, loadgate: Loadgate, knobs: None
) -> None:
    spec = {**RATE, "stages": [RATE["stages"][0], {**RATE["stages"][1], "duration": 8}]}
    path = scenario_file(tmp_path, "rate", spec)
    slow = dict.fromkeys(("list_rooms", "list_messages", "post_message", "get_me"), 400)
    set_knobs(sandbox_state, {"latency_ms": slow})

    done = loadgate(
        "run",
        "--scenario",
        "rate",
        "--scenarios-file",
        str(path),
        "--sandbox",
        state_dir(sandbox_state),
    )

    assert done.code in (0, 1), done.stderr
    paced = stage_totals(done.run_dir())["Paced"]
    # 20 users waiting about 0.4 s a request cannot send 100 a second.
    assert float(paced["throughput_rps"]) < 70
    assert int(paced["late_sends"]) > 100
    assert float(paced["co_p95_ms"]) > float(paced["p95_ms"]) * 2


THREE_STAGES = {
    "wait_time": {"min": 0.1, "max": 0.3},
    "stages": [
        {"name": "Light", "users": 6, "spawn_rate": 6, "duration": 4},
        {"name": "Heavy", "users": 12, "spawn_rate": 12, "duration": 10},
        {"name": "Peak", "users": 12, "spawn_rate": 12, "duration": 4},
    ],
}


def test_lost_worker_degrades_the_run_but_keeps_its_data(
    tmp_path: Path, sandbox_state: SandboxState
) -> None:
    path = scenario_file(tmp_path, "three", THREE_STAGES)
    results = tmp_path / "results"
    command = [
        sys.executable,
        "-m",
        "loadgate",
        "run",
        "--scenario",
        "three",
        "--scenarios-file",
        str(path),
        "--sandbox",
        state_dir(sandbox_state),
        "--workers",
        "3",
        "--results",
        str(results),
    ]
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as run:
        assert run.stderr is not None
        for line in run.stderr:
            if line.startswith("stage Heavy started"):
                break
        (run_dir,) = results.iterdir()
        victim = json.loads((run_dir / "workers.json").read_text())["workers"][0]
        killed_at = time.time()
        os.kill(victim, signal.SIGKILL)
        out, _ = run.communicate(timeout=120)

    assert run.returncode in (0, 1), out
    facts = json.loads((run_dir / "run.json").read_text())
    assert facts["degraded"] is True
    (lost,) = facts["lost_workers"]
    heavy = next(stage for stage in facts["stages"] if stage["name"] == "Heavy")
    assert killed_at <= lost["at"] <= heavy["end"]
    # Killed as Heavy began: it ran its third of Light's or of Heavy's users.
    assert lost["users"] in (2, 4)
    # Its share of all users then: a third, or less while the others ramp to Heavy.
    assert 15 <= lost["share_pct"] <= 33.4
    assert facts["stopped_early"] is False
    html = (run_dir / "report.html").read_text()
    assert "Degraded run:" in html and lost["worker"] in html
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run"]["degraded"] is True

    # Everything the master received is in the stage table: compare with Locust's own.
    with (run_dir / "loadgate_stats.csv").open(encoding="utf-8", newline="") as handle:
        locust_rows = list(csv.DictReader(handle))
    api_requests = sum(
        int(row["Request Count"])
        for row in locust_rows
        if row["Name"] != "Aggregated" and row["Type"] != "cognito"
    )
    staged = sum(int(row["requests"]) for row in stage_totals(run_dir).values())
    assert staged == api_requests


SLOW_PEAK = {
    "wait_time": {"min": 0.05, "max": 0.1},
    "stages": [
        {"name": "Light", "users": 2, "spawn_rate": 2, "duration": 6},
        {"name": "Peak", "users": 4, "spawn_rate": 4, "duration": 6},
    ],
}
ONLY_HEALTH = {"list_rooms": 0, "get_me": 0, "list_messages": 0, "post_message": 0}


def health_rows(run_dir: Path) -> dict[str, dict[str, str]]:
    with (run_dir / "loadgate_stages.csv").open(encoding="utf-8", newline="") as handle:
        return {
            row["stage"]: row
            for row in csv.DictReader(handle)
            if row["endpoint"] == "health"
        }


#: The most the client's own round trip adds to the server's time at 50 ms on a 2-core
#: machine, Locust and the sandbox sharing it (see the README's Limits).
ROUND_TRIP_MS = 4.0


def run_slow_peak(
    tmp_path: Path, state: SandboxState, workers: int
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Run Light at 50 ms and Peak at 400 ms on /health; return stage and Locust rows."""
    path = scenario_file(tmp_path, "slow", SLOW_PEAK, weights=ONLY_HEALTH)
    control = sandbox.control(state)
    control.set_knobs({"latency_ms": {"health": 50}})
    results = tmp_path / f"results-{workers}"
    command = [
        sys.executable,
        "-m",
        "loadgate",
        "run",
        "--scenario",
        "slow",
        "--scenarios-file",
        str(path),
        "--sandbox",
        state_dir(state),
        "--results",
        str(results),
        "--workers",
        str(workers),
    ]
    try:
        with subprocess.Popen(
            command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as run:
            assert run.stderr is not None
            for line in run.stderr:
                if line.startswith("stage Peak started"):
                    control.set_knobs({"latency_ms": {"health": 400}})
                    break
            run.communicate(timeout=120)
    finally:
        control.reset()
    (run_dir,) = results.iterdir()
    with (run_dir / "loadgate_stats.csv").open(encoding="utf-8", newline="") as handle:
        (locust_row,) = [
            row for row in csv.DictReader(handle) if row["Name"] == "/health"
        ]
    return health_rows(run_dir), locust_row


def server_percentile(
    state: SandboxState, row: dict[str, str], fraction: float
) -> float:
    """The truth: the sandbox's own timing of /health requests in a stage's window."""
    start, end = float(row["stage_start"]), float(row["stage_end"])
    durations = sorted(
        record["duration_ms"]
        for record in read_request_log(state.request_log)
        if record["endpoint"] == "health" and start <= record["ts"] < end
    )
    return durations[min(int(len(durations) * fraction), len(durations) - 1)]


@pytest.mark.serial
@pytest.mark.parametrize("workers", [0, 2], ids=["one-process", "master-and-2-workers"])
def test_stage_percentiles_follow_the_latency_of_each_stage(
    tmp_path: Path, sandbox_state: SandboxState, workers: int
) -> None:
    stages, locust_row = run_slow_peak(tmp_path, sandbox_state, workers)

    for stage, knob in (("Light", 50), ("Peak", 400)):
        assert int(stages[stage]["requests"]) >= 40, stage
        assert float(stages[stage]["p50_ms"]) == pytest.approx(knob, rel=0.05), stage
        for column, fraction in (("p50_ms", 0.5), ("p95_ms", 0.95)):
            truth = server_percentile(sandbox_state, stages[stage], fraction)
            # The sandbox served the knob (how closely: test_sandbox_faults.py).
            assert truth == pytest.approx(knob, rel=0.05), (stage, column)
            # Locust rounds to whole milliseconds below 100 ms, to buckets above.
            low, high = percentile_band(float(stages[stage][column]))
            low, high = low - 0.5, high + 0.5
            # The client sees the server's time plus its own round trip.
            assert truth <= high and low <= truth + ROUND_TRIP_MS, (stage, column)
    # Locust's own whole-run row blends both: wrong for each stage on one side.
    assert float(locust_row["50%"]) != pytest.approx(400, rel=0.05)
    assert float(locust_row["95%"]) != pytest.approx(50, rel=0.05)


def test_worker_with_another_scenario_stops_the_run(
    tmp_path: Path, sandbox_state: SandboxState
) -> None:
    port = free_port()
    results = tmp_path / "results"
    master = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadgate",
            "master",
            "--scenario",
            "smoke",
            "--sandbox",
            state_dir(sandbox_state),
            "--workers",
            "1",
            "--master-port",
            str(port),
            "--results",
            str(results),
            "--wait",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "loadgate",
            "worker",
            "--master-host",
            "127.0.0.1",
            "--master-port",
            str(port),
            "--scenario",
            "demo",
            "--sandbox",
            state_dir(sandbox_state),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _, err = master.communicate(timeout=60)
    finally:
        worker.wait(timeout=30)

    assert master.returncode == 2, err
    assert (
        "error: this worker loaded scenario 'demo' but the master runs 'smoke': start "
        "every worker with --scenario smoke"
    ) in err.splitlines()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
