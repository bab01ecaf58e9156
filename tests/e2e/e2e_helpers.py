"""Helpers shared by the end-to-end tests (the fixtures live in conftest.py)."""

from __future__ import annotations

import csv
import json
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

import sandbox
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH
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


def scenario_file(
    tmp_path: Path,
    name: str,
    spec: Mapping[str, Any],
    weights: Mapping[str, float] | None = None,
) -> Path:
    """Write a scenarios file holding the shipped settings and one scenario.

    ``weights`` overrides endpoint weights (0 leaves an endpoint out).
    """
    data = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    data["scenarios"] = {name: dict(spec)}
    for key, weight in (weights or {}).items():
        data["endpoints"][key]["weight"] = weight
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def stage_totals(run_dir: Path) -> dict[str, dict[str, str]]:
    with (run_dir / "loadgate_stages.csv").open(encoding="utf-8", newline="") as handle:
        return {
            row["stage"]: row
            for row in csv.DictReader(handle)
            if row["endpoint"] == "total"
        }


def state_dir(state: SandboxState) -> str:
    return str(Path(state.request_log).parent)
