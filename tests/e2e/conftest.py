"""Fixtures for end-to-end runs: a running sandbox and a way to call ``loadgate``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

import sandbox
from sandbox import SandboxState

ZERO_KNOBS = {
    "latency_ms": {key: 0 for key in sandbox.ENDPOINT_KEYS},
    "error_rate": {key: 0 for key in sandbox.ENDPOINT_KEYS},
}


@dataclass(frozen=True)
class Finished:
    """A finished ``loadgate`` command."""

    code: int
    stdout: str
    stderr: str
    results: Path

    def run_dir(self) -> Path:
        """Return the one run directory the command made."""
        (run_dir,) = [p for p in self.results.iterdir() if p.is_dir()]
        return run_dir


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


def set_knobs(state: SandboxState, knobs: Mapping[str, object]) -> None:
    """Change the sandbox's latency and error knobs at run time."""
    request = urllib.request.Request(
        f"{state.api_url}/_sandbox/knobs",
        data=json.dumps(knobs).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert reply.status == 200


class Loadgate(Protocol):
    """Runs ``python -m loadgate ARGS`` and returns what it did."""

    def __call__(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
    ) -> Finished: ...


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
