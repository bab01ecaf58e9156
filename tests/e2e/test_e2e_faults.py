"""End to end: target faults are recorded by class, and nothing secret leaks."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_helpers import Loadgate, scenario_file, stage_totals, state_dir

import sandbox
from sandbox import SandboxState

pytestmark = pytest.mark.e2e

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")

THREE_STAGES = {
    "wait_time": {"min": 0.2, "max": 0.4},
    "stages": [
        {"name": "Light", "users": 3, "spawn_rate": 3, "duration": 3},
        {"name": "Heavy", "users": 6, "spawn_rate": 6, "duration": 12},
        {"name": "Peak", "users": 6, "spawn_rate": 6, "duration": 4},
    ],
}


@pytest.fixture
def control(sandbox_state: SandboxState) -> Iterator[sandbox.SandboxControl]:
    """The sandbox's control client; every knob is reset after the test."""
    client = sandbox.control(sandbox_state)
    yield client
    client.reset()


def failures(run_dir: Path) -> list[dict[str, str]]:
    with (run_dir / "loadgate_failures.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        return list(csv.DictReader(handle))


def test_echoed_authorization_header_reaches_no_artifact(
    sandbox_state: SandboxState, loadgate: Loadgate, control: sandbox.SandboxControl
) -> None:
    control.set_knobs(
        {
            "faults": {
                "post_message": {"rate": 0.5, "kind": "echo_auth"},
                "list_messages": {"rate": 0.5, "kind": "echo_auth"},
            }
        }
    )

    done = loadgate("run", "--scenario", "smoke", "--sandbox", state_dir(sandbox_state))

    assert done.code == 1, done.stderr
    run_dir = done.run_dir()
    assert {row["Error"] for row in failures(run_dir)} == {
        "CatchResponseError('status 500 Internal Server Error')"
    }
    leaks = [
        path.name
        for path in run_dir.iterdir()
        if JWT.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert leaks == []
    assert not JWT.search(done.stdout + done.stderr)
    assert sandbox_state.password not in done.stdout + done.stderr


def test_outage_during_heavy_is_recorded_as_connection_errors(
    tmp_path: Path, sandbox_state: SandboxState, control: sandbox.SandboxControl
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
        down_at = time.time()
        control.outage(6)
        out, _ = run.communicate(timeout=120)

    # The run went on through the outage and ended with a verdict, not a crash.
    assert run.returncode == 1, out
    (run_dir,) = results.iterdir()
    facts = json.loads((run_dir / "run.json").read_text())
    assert facts["stopped_early"] is False
    refused = [row for row in failures(run_dir) if "connection refused" in row["Error"]]
    assert refused
    assert sum(int(row["Occurrences"]) for row in refused) > 10
    heavy = stage_totals(run_dir)["Heavy"]
    assert int(heavy["failures"]) > 10
    peak = stage_totals(run_dir)["Peak"]
    assert int(peak["failures"]) == 0
    assert float(heavy["stage_start"]) <= down_at <= float(heavy["stage_end"])
    summary = json.loads((run_dir / "summary.json").read_text())
    (outage,) = [f for f in summary["findings"] if f["kind"] == "outage"]
    assert outage["title"].startswith("Target unreachable from ")
    assert down_at - 2 <= outage["numbers"]["start"] <= down_at + 2
    assert 3 <= outage["numbers"]["end"] - outage["numbers"]["start"] <= 8
    assert outage["title"] in (run_dir / "report.html").read_text()


FAULTY = {
    "wait_time": {"min": 0.1, "max": 0.2},
    "request_timeout": 1,
    "min_samples": 5,
    "stages": [{"name": "Light", "users": 4, "spawn_rate": 4, "duration": 8}],
}


def test_each_target_fault_is_recorded_as_its_error_class(
    tmp_path: Path,
    loadgate: Loadgate,
    sandbox_state: SandboxState,
    control: sandbox.SandboxControl,
) -> None:
    # list_rooms stays healthy so every user finds its room before the faults bite.
    control.set_knobs(
        {
            "faults": {
                "get_me": {"rate": 1, "kind": "status", "status": 503},
                "list_messages": {"rate": 1, "kind": "timeout", "hold_s": 3},
                "post_message": {"rate": 1, "kind": "reset"},
            }
        }
    )
    path = scenario_file(tmp_path, "faulty", FAULTY)

    done = loadgate(
        "run",
        "--scenario",
        "faulty",
        "--scenarios-file",
        str(path),
        "--sandbox",
        state_dir(sandbox_state),
    )

    assert done.code == 1, done.stderr
    summary = json.loads((done.run_dir() / "summary.json").read_text())
    classes = {(row["name"], row["class"], row["error"]) for row in summary["errors"]}
    assert classes == {
        (
            "/api/v1/users/me",
            "server",
            "CatchResponseError('status 503 Service Unavailable')",
        ),
        (
            "/api/v1/rooms/{room_id}/messages",
            "timeout",
            "CatchResponseError('timed out waiting for the target')",
        ),
        (
            "/api/v1/rooms/{room_id}/messages",
            "connection",
            "CatchResponseError('connection closed without a response')",
        ),
    }
    by_method = {row["method"] for row in summary["errors"]}
    assert by_method == {"GET", "POST"}
    # Every request to a faulty endpoint failed; the healthy one never did.
    with (done.run_dir() / "loadgate_stages.csv").open(encoding="utf-8") as table:
        stats = {(row["stage"], row["endpoint"]): row for row in csv.DictReader(table)}
    rooms = stats[("Light", "list_rooms")]
    assert int(rooms["requests"]) > 0
    assert int(rooms["failures"]) == 0
    me = stats[("Light", "get_me")]
    assert int(me["failures"]) == int(me["requests"]) > 0


def test_a_failed_room_listing_is_retried_not_blamed_on_room_endpoints(
    sandbox_state: SandboxState, loadgate: Loadgate, control: sandbox.SandboxControl
) -> None:
    control.set_knobs(
        {"faults": {"list_rooms": {"rate": 0.5, "kind": "status", "status": 500}}}
    )
    before = len(sandbox.read_request_log(sandbox_state.request_log))

    done = loadgate("run", "--scenario", "smoke", "--sandbox", state_dir(sandbox_state))

    assert done.code == 1, done.stderr
    errors = {(row["Name"], row["Error"]) for row in failures(done.run_dir())}
    assert errors == {
        ("/api/v1/rooms", "CatchResponseError('status 500 Internal Server Error')")
    }
    log = sandbox.read_request_log(sandbox_state.request_log)[before:]
    assert {record["endpoint"] for record in log} >= {"list_messages", "post_message"}
    assert not [record for record in log if record["status"] == 404]
