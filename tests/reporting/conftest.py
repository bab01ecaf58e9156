"""Fixtures for the reporting tests: the demo run, copies of it, and small made-up runs."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from reporting import Run, load_run
from reporting.readers import OPTIONAL_STAGE_COLUMNS, STAGE_COLUMNS

DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
DEMO_DIR = DATA / "run_demo"
T0 = 1767261600.0
LOCUST_CSVS = (
    "loadgate_stats.csv",
    "loadgate_stats_history.csv",
    "loadgate_failures.csv",
    "loadgate_exceptions.csv",
)

# Set LOADGATE_UPDATE_GOLDEN=1 to rewrite the golden files from the current output.
UPDATE_GOLDEN = os.environ.get("LOADGATE_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="session")
def demo_run() -> Run:
    """The checked-in demo run (4 stages, 4 thresholds), loaded once."""
    return load_run(DEMO_DIR)


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A writable copy of the demo run directory."""
    target = tmp_path / "run_copy"
    shutil.copytree(DEMO_DIR, target)
    return target


def stage_row(stage: str, endpoint: str, **values: Any) -> dict[str, Any]:
    """One ``loadgate_stages.csv`` row with sensible defaults, overridden by values."""
    index = ["Light", "Medium", "Heavy", "Peak"].index(stage)
    row: dict[str, Any] = {
        "stage_index": index,
        "stage": stage,
        "stage_start": T0 + 15 * index,
        "stage_end": T0 + 15 * (index + 1),
        "endpoint": endpoint,
        "method": "" if endpoint == "total" else "GET",
        "name": "Aggregated" if endpoint == "total" else f"/api/{endpoint}",
        "requests": 1000,
        "failures": 0,
        "min_ms": 5.0,
        "mean_ms": 100.0,
        "max_ms": 900.0,
        "p50_ms": 90.0,
        "p90_ms": 300.0,
        "p95_ms": 400.0,
        "p99_ms": 700.0,
        "p999_ms": 880.0,
        "throughput_rps": 1000 / 15,
    }
    row.update(values)
    if row["requests"] == 0:
        for column in STAGE_COLUMNS[9:17]:
            row[column] = ""
        row["throughput_rps"] = 0.0
    return row


def write_run(
    target: Path,
    rows: Sequence[Mapping[str, Any]],
    thresholds: Sequence[Mapping[str, Any]],
    ran: Sequence[str] = ("Light", "Medium", "Heavy", "Peak"),
    extra: Mapping[str, Any] | None = None,
    failures: Sequence[Sequence[object]] = (),
) -> Path:
    """Write a small run directory: ``run.json``, ``loadgate_stages.csv`` and Locust's CSVs.

    ``extra`` adds keys to ``run.json`` (``min_samples``, ``cpu_warnings``...);
    ``failures`` rows (method, name, error, occurrences, first seen, last seen) fill
    ``loadgate_failures.csv``. Locust's other CSVs hold their header only.
    """
    target.mkdir(parents=True, exist_ok=True)
    stages = [
        {
            "name": name,
            "users": users,
            "spawn_rate": 10.0,
            "duration_s": 15.0,
            "start": T0 + 15 * index if name in ran else None,
            "end": T0 + 15 * (index + 1) if name in ran else None,
        }
        for index, (name, users) in enumerate(
            [("Light", 10), ("Medium", 50), ("Heavy", 100), ("Peak", 200)]
        )
    ]
    document = {
        "scenario": "unit",
        "host": "http://127.0.0.1:9",
        "locust_version": "2.47.0",
        "loadgate_version": "0.1.0",
        "started_at": T0,
        "ended_at": T0 + 60,
        "workers": 0,
        "stopped_early": len(ran) < 4,
        "fatal_error": None,
        "stages": stages,
        "thresholds": list(thresholds),
        **(extra or {}),
    }
    (target / "run.json").write_text(json.dumps(document), encoding="utf-8")
    with (target / "loadgate_stages.csv").open(
        "w", newline="", encoding="utf-8"
    ) as out:
        optional = [c for c in OPTIONAL_STAGE_COLUMNS if any(c in r for r in rows)]
        writer = csv.DictWriter(out, fieldnames=[*STAGE_COLUMNS, *optional])
        writer.writeheader()
        writer.writerows(rows)
    for name in LOCUST_CSVS:
        header = (DEMO_DIR / name).read_text(encoding="utf-8").splitlines()[0]
        (target / name).write_text(header + "\n", encoding="utf-8")
    if failures:
        with (target / "loadgate_failures.csv").open(
            "a", newline="", encoding="utf-8"
        ) as out:
            csv.writer(out).writerows(failures)
    return target


MakeRun = Callable[..., Run]
StageRow = Callable[..., dict[str, Any]]


@pytest.fixture
def row() -> StageRow:
    """The :func:`stage_row` helper, as a fixture so tests need not import conftest."""
    return stage_row


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """Build and load a small run from stage rows and threshold dicts.

    The stages that have rows ran, unless ``ran`` names them; the others never ran.
    """

    def make(
        rows: Sequence[Mapping[str, Any]],
        thresholds: Sequence[Mapping[str, Any]],
        ran: Sequence[str] | None = None,
        extra: Mapping[str, Any] | None = None,
        failures: Sequence[Sequence[object]] = (),
    ) -> Run:
        if ran is None:
            ran = sorted({row["stage"] for row in rows})
        made = write_run(tmp_path / "made", rows, thresholds, ran, extra, failures)
        return load_run(made)

    return make


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare text with ``golden/<name>``, or rewrite it when updating goldens."""

    def check(name: str, text: str) -> None:
        path = GOLDEN / name
        if UPDATE_GOLDEN:
            path.write_text(text, encoding="utf-8")
        assert text == path.read_text(encoding="utf-8")

    return check
