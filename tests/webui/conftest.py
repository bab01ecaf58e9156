"""Fixtures of the web UI tests: a sandbox, a short scenarios file, a browser."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import sandbox
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH

CHROMIUM = Path("/usr/bin/chromium")

# Short stages keep the web UI tests to seconds. "demo" is the acceptance run: two
# stages, each long enough to be seen running; its Peak throughput threshold cannot be
# met, so a live "failing" shows beside the "passing" ones. "long" is stopped by hand in
# its second stage. "quick" is only the form's first value.
TEST_SCENARIOS = {
    "quick": {
        "wait_time": {"min": 0.05, "max": 0.15},
        "stages": [{"name": "Only", "users": 2, "spawn_rate": 2, "duration": 2}],
    },
    "demo": {
        "wait_time": {"min": 0.05, "max": 0.15},
        "min_samples": 5,
        "stages": [
            {"name": "Light", "users": 3, "spawn_rate": 3, "duration": 5},
            {"name": "Peak", "users": 6, "spawn_rate": 6, "duration": 5},
        ],
        "thresholds": [
            {
                "metric": "throughput_rps",
                "at_least": 100000,
                "stages": ["Peak"],
                "endpoints": ["total"],
            }
        ],
    },
    "long": {
        "wait_time": {"min": 0.05, "max": 0.15},
        "min_samples": 5,
        "stages": [
            {"name": "First", "users": 2, "spawn_rate": 2, "duration": 3},
            {"name": "Second", "users": 3, "spawn_rate": 3, "duration": 60},
            {"name": "Third", "users": 4, "spawn_rate": 4, "duration": 60},
        ],
    },
}


@pytest.fixture(scope="session")
def sandbox_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The state directory of one sandbox for the web UI tests, stopped at the end."""
    state_dir = tmp_path_factory.mktemp("webui-sandbox")
    with sandbox.running(state_dir):
        yield state_dir


@pytest.fixture(scope="session")
def scenarios_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's scenarios file with short scenarios in place of its own."""
    document = yaml.safe_load(DEFAULT_SCENARIOS_PATH.read_text(encoding="utf-8"))
    document["scenarios"] = TEST_SCENARIOS
    path = tmp_path_factory.mktemp("webui-scenarios") / "scenarios.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium, driven by Playwright (the Makefile installs it if missing)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()
