"""End to end: ``loadgate run`` with Cognito users against the sandbox."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pytest
from e2e_helpers import Loadgate, set_knobs

from sandbox import SandboxState, read_request_log

pytestmark = pytest.mark.e2e


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_healthy_run_passes_with_every_token_accepted(
    sandbox_state: SandboxState, loadgate: Loadgate
) -> None:
    started = time.time()

    done = loadgate(
        "run", "--scenario", "smoke", "--sandbox", str(sandbox_state_dir(sandbox_state))
    )

    assert done.code == 0, done.stderr
    run_dir = done.run_dir()
    for name in (
        "loadgate_stats.csv",
        "loadgate_stats_history.csv",
        "loadgate_failures.csv",
        "loadgate_stages.csv",
        "report.html",
        "summary.json",
        "run.json",
    ):
        assert (run_dir / name).is_file(), name
    assert rows(run_dir / "loadgate_failures.csv") == []
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "pass"
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "Light" in html and "Peak" in html

    # The sandbox itself saw no refused token in this run's window.
    seen = [
        r for r in read_request_log(sandbox_state.request_log) if r["ts"] >= started
    ]
    api_calls = [r for r in seen if r["path"].startswith("/api/")]
    assert len(api_calls) > 100
    assert {r["status"] for r in api_calls} <= {200, 201}


def test_error_knob_fails_availability_naming_the_endpoint(
    sandbox_state: SandboxState, loadgate: Loadgate, knobs: None
) -> None:
    set_knobs(sandbox_state, {"error_rate": {"list_messages": 0.05}})

    done = loadgate(
        "run", "--scenario", "smoke", "--sandbox", str(sandbox_state_dir(sandbox_state))
    )

    assert done.code == 1, done.stderr
    failing = [line for line in done.stdout.splitlines() if line.startswith("FAIL ")]
    assert any(
        "availability_pct >= 99.9" in line and "list_messages" in line
        for line in failing
    )
    html = (done.run_dir() / "report.html").read_text(encoding="utf-8")
    assert "list_messages" in html and "availability_pct &gt;= 99.9" in html


def test_wrong_password_stops_at_once_with_one_error(
    sandbox_state: SandboxState, loadgate: Loadgate
) -> None:
    started = time.monotonic()

    done = loadgate(
        "run",
        "--scenario",
        "smoke",
        "--sandbox",
        str(sandbox_state_dir(sandbox_state)),
        env={"LOADGATE_TEST_PASSWORD": "Wrong-Passw0rd!"},
    )

    assert done.code == 2
    assert time.monotonic() - started < 10
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "NotAuthorizedException" in errors[0]
    assert sandbox_state.user_pool_id in errors[0]
    assert "Wrong-Passw0rd!" not in done.stderr + done.stdout
    sign_ins = [
        row
        for row in rows(done.run_dir() / "loadgate_stages.csv")
        if row["endpoint"] == "cognito:AdminInitiateAuth"
    ]
    assert sum(int(row["requests"]) for row in sign_ins) == 1


def sandbox_state_dir(state: SandboxState) -> Path:
    return Path(state.request_log).parent
