"""Findings and comparisons from real runs against the sandbox (a few seconds each).

One sandbox serves the module. Three short runs of a three-stage scenario (6, 10 and 20
users, 3 s each): a healthy one, one whose list_messages slows down by 1.5 s when
Heavy starts and whose get_me answers 429 to a fifth of its requests, and one with
200 ms added to list_rooms throughout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

import sandbox
from reporting import analyse, compare, load_run
from reporting.analysis import NO_ISSUES
from sandbox import SandboxState, read_request_log

# Its findings and comparisons hang on latency: no other load may run beside it.
pytestmark = [pytest.mark.e2e, pytest.mark.serial]

STAGE_S = 4.0
SCENARIOS = """
version: 1
target: {host: ""}
auth:
  region: ${AWS_REGION:-us-east-1}
  user_pool_id: ${LOADGATE_USER_POOL_ID:-}
  client_id: ${LOADGATE_CLIENT_ID:-}
  users:
    count: ${LOADGATE_USER_COUNT:-20}
    password: ${LOADGATE_TEST_PASSWORD:-}
endpoints:
  list_rooms: {method: GET, path: /api/v1/rooms, weight: 1}
  get_me: {method: GET, path: /api/v1/users/me, weight: 1}
  list_messages: {method: GET, path: "/api/v1/rooms/{room_id}/messages", weight: 1}
thresholds:
  - {metric: p95_ms, below: 1000}
  - {metric: availability_pct, at_least: 99.9}
min_samples: 10
scenarios:
  short:
    wait_time: {min: 0.3, max: 0.5}
    stages:
      - {name: Light, users: 6, spawn_rate: 20, duration: STAGE_S}
      - {name: Medium, users: 10, spawn_rate: 20, duration: STAGE_S}
      - {name: Heavy, users: 20, spawn_rate: 40, duration: STAGE_S}
""".replace("STAGE_S", f"{STAGE_S:g}")


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    with sandbox.running(tmp_path_factory.mktemp("sandbox"), users=20) as running:
        yield running


@pytest.fixture(scope="module")
def scenarios_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "scenarios.yaml"
    path.write_text(SCENARIOS, encoding="utf-8")
    return path


def run_short(
    state: SandboxState,
    scenarios_file: Path,
    results: Path,
    knobs: Mapping[str, object] | None = None,
    slow_from_heavy: Mapping[str, object] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the short scenario with knobs set; schedule a change for Heavy's start."""
    control = sandbox.control(state)
    control.reset()
    if knobs:
        control.set_knobs(knobs)
    started = time.time()
    command = [
        sys.executable,
        "-m",
        "loadgate",
        "run",
        "--scenario",
        "short",
        "--scenarios-file",
        str(scenarios_file),
        "--sandbox",
        str(Path(state.request_log).parent),
        "--results",
        str(results),
    ]
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ},
    )
    if slow_from_heavy:
        first = first_api_request_after(state, started, deadline_s=20)
        control.schedule([{"at": first + 2 * STAGE_S + 0.2, "knobs": slow_from_heavy}])
    stdout, stderr = child.communicate(timeout=60)
    control.reset()
    return subprocess.CompletedProcess(command, child.returncode, stdout, stderr)


def first_api_request_after(
    state: SandboxState, after: float, deadline_s: float
) -> float:
    """Poll the request log until the run's first API request shows up."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        seen = [
            r["ts"]
            for r in read_request_log(Path(state.request_log))
            if r["ts"] >= after and r["path"].startswith("/api/")
        ]
        if seen:
            return min(seen)
        time.sleep(0.05)
    raise AssertionError("the run sent no API request in time")


def only_run_dir(results: Path) -> Path:
    (run_dir,) = [path for path in results.iterdir() if path.is_dir()]
    return run_dir


@pytest.fixture(scope="module")
def healthy(
    state: SandboxState, scenarios_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    results = tmp_path_factory.mktemp("healthy")
    done = run_short(state, scenarios_file, results)
    assert done.returncode == 0, done.stdout + done.stderr
    return only_run_dir(results)


def test_healthy_run_has_no_advice_and_equals_itself(healthy: Path) -> None:
    run = load_run(healthy)
    analysis = analyse(run)
    assert [f.title for f in analysis.findings] == []
    assert analysis.recommendations == (NO_ISSUES,)
    summary = json.loads((healthy / "summary.json").read_text(encoding="utf-8"))
    assert summary["recommendations"] == [NO_ISSUES]
    for name in ("report.html", "junit.xml", "summary.md"):
        assert (healthy / name).is_file()

    comparison = compare(run, [load_run(healthy)])
    assert {row.verdict for row in comparison.rows} == {"same"}


def test_slowdown_from_heavy_is_the_knee_and_429_is_throttling(
    state: SandboxState, scenarios_file: Path, tmp_path: Path
) -> None:
    done = run_short(
        state,
        scenarios_file,
        tmp_path,
        knobs={"faults": {"get_me": {"rate": 0.2, "kind": "status", "status": 429}}},
        slow_from_heavy={"latency_ms": {"list_messages": 1500}},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    analysis = analyse(load_run(only_run_dir(tmp_path)))

    titles = [f"{f.title}: {f.detail}" for f in analysis.findings]
    knees = [f for f in analysis.findings if f.kind == "saturation"]
    assert len(knees) == 1, titles
    (knee,) = knees
    assert (knee.stage, knee.endpoint) == ("Heavy", "list_messages")
    throttled = next(f for f in analysis.findings if f.title.startswith("429"))
    assert "throttl" in throttled.detail
    assert "get_me" not in {
        f.endpoint for f in analysis.findings if f.kind == "saturation"
    }
    assert "429 throttling" in done.stdout


def test_200ms_on_list_rooms_regresses_it_only(
    state: SandboxState, scenarios_file: Path, tmp_path: Path, healthy: Path
) -> None:
    done = run_short(
        state, scenarios_file, tmp_path, knobs={"latency_ms": {"list_rooms": 200}}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    slower = only_run_dir(tmp_path)

    report = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadgate",
            "report",
            str(slower),
            "--baseline",
            str(healthy),
            "--scenarios-file",
            str(scenarios_file),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert report.returncode == 0, report.stderr
    summary = json.loads((slower / "summary.json").read_text(encoding="utf-8"))
    verdicts = {
        (row["stage"], row["endpoint"]): row["verdict"]
        for row in summary["comparison"]["rows"]
    }
    assert {k for k, v in verdicts.items() if v == "regressed"} >= {
        ("Light", "list_rooms"),
        ("Medium", "list_rooms"),
        ("Heavy", "list_rooms"),
    }
    others = {k: v for k, v in verdicts.items() if k[1] in ("get_me", "list_messages")}
    assert set(others.values()) == {"same"}, report.stdout
    assert "REGRESSED Heavy / list_rooms" in report.stdout
