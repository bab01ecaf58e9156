"""End to end: Ctrl-C and SIGTERM stop a run cleanly, keeping what was collected."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from e2e_helpers import scenario_file, state_dir

from sandbox import SandboxState

pytestmark = pytest.mark.e2e

FOUR_STAGES = {
    "wait_time": {"min": 0.1, "max": 0.3},
    "stages": [
        {"name": "Light", "users": 3, "spawn_rate": 3, "duration": 3},
        {"name": "Medium", "users": 6, "spawn_rate": 6, "duration": 30},
        {"name": "Heavy", "users": 9, "spawn_rate": 9, "duration": 30},
        {"name": "Peak", "users": 12, "spawn_rate": 12, "duration": 30},
    ],
}


def run_command(
    tmp_path: Path,
    name: str,
    spec: dict[str, Any],
    sandbox_state: SandboxState,
    results: Path,
) -> list[str]:
    """Return the ``loadgate run`` command of one scenario against the sandbox."""
    path = scenario_file(tmp_path, name, spec)
    return [
        *(sys.executable, "-m", "loadgate", "run", "--scenario", name),
        *("--scenarios-file", str(path), "--sandbox", state_dir(sandbox_state)),
        *("--results", str(results)),
    ]


def processes_mentioning(text: str) -> list[int]:
    """Return the pids whose command line mentions ``text``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize(
    "signum",
    [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
    ids=["sigint", "sigterm", "sighup"],
)
def test_signal_during_medium_keeps_light_and_part_of_medium(
    tmp_path: Path, sandbox_state: SandboxState, signum: signal.Signals
) -> None:
    results = tmp_path / "results"
    command = run_command(tmp_path, "four", FOUR_STAGES, sandbox_state, results)
    with subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as run:
        assert run.stderr is not None
        for line in run.stderr:
            if line.startswith("stage Medium started"):
                break
        # As a terminal does: the signal goes to loadgate's whole process group.
        os.killpg(run.pid, signum)
        out, err = run.communicate(timeout=90)

    assert run.returncode == 130, err
    (run_dir,) = results.iterdir()
    facts = json.loads((run_dir / "run.json").read_text())
    assert facts["stopped_early"] is True
    ran = [stage["name"] for stage in facts["stages"] if stage["start"] is not None]
    assert ran == ["Light", "Medium"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["run"]["stopped_early"] is True
    for name in ("loadgate_stats.csv", "loadgate_stages.csv", "loadgate_failures.csv"):
        text = (run_dir / name).read_text(encoding="utf-8")
        assert text.endswith("\n"), name
        rows = list(csv.reader(text.splitlines()))
        assert len({len(row) for row in rows}) == 1, name
    assert "report.html" in out
    assert processes_mentioning(str(run_dir)) == []


SHORT = {
    "wait_time": {"min": 0.1, "max": 0.3},
    "min_samples": 5,
    "stages": [
        {"name": "Light", "users": 3, "spawn_rate": 3, "duration": 3},
        {"name": "Peak", "users": 6, "spawn_rate": 6, "duration": 3},
    ],
}


def test_a_console_that_goes_away_does_not_end_the_run(
    tmp_path: Path, sandbox_state: SandboxState
) -> None:
    results = tmp_path / "results"
    command = run_command(tmp_path, "short", SHORT, sandbox_state, results)
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as run:
        assert run.stderr is not None and run.stdout is not None
        first = run.stderr.readline()
        # As `loadgate run ... | head -1` does: the reader leaves after one line.
        run.stderr.close()
        run.stdout.close()
        code = run.wait(timeout=90)

    assert first.startswith("running scenario 'short'")
    assert code == 0
    (run_dir,) = results.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert [stage["name"] for stage in summary["run"]["stages"]] == ["Light", "Peak"]
    assert summary["status"] == "pass"
    assert (run_dir / "report.html").exists()
    assert processes_mentioning(str(run_dir)) == []
