"""End to end: a host outside scenarios.yaml's environments gets no request at all."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_helpers import Loadgate, state_dir

from loadgate.runner import LOCUSTFILE
from sandbox import SandboxState, read_request_log

pytestmark = pytest.mark.e2e


def other_loopback(state: SandboxState) -> str:
    """The sandbox's API under a loopback address the environments do not list."""
    return state.api_url.replace("127.0.0.1", "127.0.0.2")


def test_run_against_an_unlisted_host_sends_nothing(
    sandbox_state: SandboxState, loadgate: Loadgate
) -> None:
    before = len(read_request_log(sandbox_state.request_log))

    done = loadgate(
        "run",
        "--scenario",
        "smoke",
        "--sandbox",
        state_dir(sandbox_state),
        "--host",
        other_loopback(sandbox_state),
    )

    assert done.code == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith(
        f"error: target host '{other_loopback(sandbox_state)}' is not allowed"
    )
    assert not done.results.exists()
    assert len(read_request_log(sandbox_state.request_log)) == before


def test_plain_locust_refuses_it_too(
    tmp_path: Path, sandbox_state: SandboxState
) -> None:
    before = len(read_request_log(sandbox_state.request_log))
    started = time.monotonic()

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(LOCUSTFILE),
            "--headless",
            "--scenario",
            "smoke",
            "--host",
            other_loopback(sandbox_state),
            "--run-time",
            "10s",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
        env={**os.environ, "LOADGATE_TEST_PASSWORD": "unused"},
    )

    assert done.returncode == 2
    assert time.monotonic() - started < 10
    assert "is not allowed: it matches no host" in done.stderr
    assert len(read_request_log(sandbox_state.request_log)) == before
