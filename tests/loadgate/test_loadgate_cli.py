"""The ``loadgate`` command line: bad input ends in one error line and exit code 2."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from loadgate.scenarios import DEFAULT_SCENARIOS_PATH

Change = Callable[[dict[str, object]], None]


def set_users(data: dict[str, object]) -> None:
    data["scenarios"]["demo"]["stages"][1]["users"] = -5  # type: ignore[index]


def set_metric(data: dict[str, object]) -> None:
    data["thresholds"][0]["metric"] = "mean"  # type: ignore[index]


def loadgate(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loadgate", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def scenarios_file(tmp_path: Path, change: Change | None = None) -> Path:
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    if change is not None:
        change(data)
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "scenario", "expected"),
    [
        (
            None,
            "demo-x",
            "error: scenarios.yaml: scenarios: no scenario 'demo-x' (did you mean "
            "'demo'?); known scenarios: capacity, demo, smoke, staged",
        ),
        (
            set_users,
            "demo",
            "error: scenarios.yaml: scenarios.demo.stages[1].users: -5 is not allowed; "
            "expected a whole number >= 1",
        ),
        (
            set_metric,
            "demo",
            "error: scenarios.yaml: thresholds[0].metric: 'mean' is not allowed; "
            "expected one of mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, "
            "availability_pct, error_rate_pct, throughput_rps, throughput_rpm (did you "
            "mean 'mean_ms'?)",
        ),
    ],
    ids=["unknown-scenario", "negative-users", "unknown-metric"],
)
def test_bad_scenarios_give_one_line_and_exit_2(
    tmp_path: Path, change: Change | None, scenario: str, expected: str
) -> None:
    path = scenarios_file(tmp_path, change)

    done = loadgate(
        "run",
        "--scenario",
        scenario,
        "--scenarios-file",
        str(path),
        "--host",
        "http://127.0.0.1:9",
        cwd=tmp_path,
    )

    assert done.returncode == 2
    assert done.stderr.splitlines() == [expected]
    assert not (tmp_path / "results").exists()


def test_yaml_syntax_error(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.yaml"
    path.write_text("scenarios:\n  demo:\n    stages: [\n", encoding="utf-8")

    done = loadgate("run", "--scenarios-file", str(path), "--host", "x", cwd=tmp_path)

    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line == (
        "error: scenarios.yaml:4:1: YAML syntax error in scenarios.demo.stages: "
        "expected the node content, but found '<stream end>'; the line reads ''"
    )


def test_report_of_a_directory_that_is_not_a_run(tmp_path: Path) -> None:
    done = loadgate("report", str(tmp_path), cwd=tmp_path)

    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("error: ")
    assert str(tmp_path) in line


def test_help_names_every_command(tmp_path: Path) -> None:
    done = loadgate("--help", cwd=tmp_path)

    assert done.returncode == 0
    for command in ("run", "demo", "report", "validate", "sandbox"):
        assert f"    {command} " in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("demo", "--workers", "-1"),
            "loadgate demo: error: argument --workers: -1 is not allowed; expected 0 "
            "or more",
        ),
        (
            ("run", "--workers", "two", "--host", "http://127.0.0.1:9"),
            "loadgate run: error: argument --workers: 'two' is not a whole number",
        ),
        (
            ("demo", "--results", "a-file"),
            "error: --results: 'a-file' is not allowed; expected a directory (it is a "
            "file)",
        ),
    ],
    ids=["negative-workers", "workers-not-a-number", "results-is-a-file"],
)
def test_bad_run_options_are_refused_before_anything_starts(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n", encoding="utf-8")

    done = loadgate(*args, cwd=tmp_path)

    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == expected
    # No sandbox was started for the demo: it would have made its state folder.
    assert not (tmp_path / ".sandbox").exists()
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == "not a folder\n"


@pytest.mark.parametrize(
    ("words", "usage"),
    [
        (("--help",), "usage: loadgate sandbox [-h] [-v] {up,down,status} ..."),
        (("up", "--help"), "usage: loadgate sandbox up [-h] [--state-dir STATE_DIR]"),
    ],
    ids=["top", "up"],
)
def test_sandbox_help_is_the_sandbox_commands_own(
    tmp_path: Path, words: tuple[str, ...], usage: str
) -> None:
    done = loadgate("sandbox", *words, cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(usage)
