"""Fixtures for end-to-end runs: a running sandbox and a way to call ``loadgate``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from e2e_helpers import ZERO_KNOBS, Finished, Loadgate, set_knobs

import sandbox
from sandbox import SandboxState


@pytest.fixture(scope="session")
def sandbox_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """One sandbox for the end-to-end tests, stopped at the end of the session."""
    state_dir = tmp_path_factory.mktemp("e2e-sandbox")
    with sandbox.running(state_dir) as state:
        yield state
    for pid in state.pids.values():
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.fixture
def knobs(sandbox_state: SandboxState) -> Iterator[None]:
    """Reset the sandbox's knobs to zero after the test."""
    yield
    set_knobs(sandbox_state, ZERO_KNOBS)


@pytest.fixture
def loadgate(tmp_path: Path) -> Loadgate:
    """Run the ``loadgate`` command with results under a fresh directory."""
    results = tmp_path / "results"

    def run(
        *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> Finished:
        command = [sys.executable, "-m", "loadgate", *args]
        if args and args[0] == "run":
            command += ["--results", str(results)]
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            check=False,
        )
        return Finished(done.returncode, done.stdout, done.stderr, results)

    return run
