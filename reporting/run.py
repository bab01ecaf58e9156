"""Load a run directory (``results/<run-id>/``) into one :class:`Run`.

loadgate's Locust plugin writes, with the prefix ``loadgate``:

* ``run.json``: the run's facts, its stages (planned and actual times) and thresholds;
* ``loadgate_stages.csv``: one row per stage and endpoint plus a ``total`` per stage;
* Locust's own ``loadgate_stats.csv``, ``loadgate_stats_history.csv``,
  ``loadgate_failures.csv`` and ``loadgate_exceptions.csv``.

The first two are required; a missing Locust CSV is logged and read as an empty table.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from loadgate.errors import InputDataError
from loadgate.scenarios import METRICS, TOTAL, Threshold
from reporting import readers

__all__ = [
    "EXCEPTIONS_CSV",
    "FAILURES_CSV",
    "HISTORY_CSV",
    "RUN_JSON",
    "STAGES_CSV",
    "STATS_CSV",
    "Run",
    "RunFacts",
    "StageRun",
    "load_run",
]

logger = logging.getLogger(__name__)

RUN_JSON = "run.json"
STAGES_CSV = "loadgate_stages.csv"
STATS_CSV = "loadgate_stats.csv"
HISTORY_CSV = "loadgate_stats_history.csv"
FAILURES_CSV = "loadgate_failures.csv"
EXCEPTIONS_CSV = "loadgate_exceptions.csv"

_NUMBER = (int, float)


@dataclass(frozen=True)
class RunFacts:
    """What ``run.json`` says about the run as a whole.

    Attributes:
        scenario: Scenario name, e.g. ``demo``.
        host: Target host, with any ``user:password@`` replaced by ``***@``.
        locust_version: Locust version that ran the test.
        loadgate_version: loadgate version that ran the test.
        started_at: Epoch seconds when the run started, or None if it never did.
        ended_at: Epoch seconds when it ended, or None if it never recorded an end.
        workers: Locust workers (0 for a single local process).
        stopped_early: Whether the run stopped before its last stage ended.
        fatal_error: The error that stopped the run, or None.
    """

    scenario: str
    host: str
    locust_version: str
    loadgate_version: str
    started_at: float | None
    ended_at: float | None
    workers: int
    stopped_early: bool
    fatal_error: str | None

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, or None if either is unknown."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """Return the facts as JSON-ready data, ``duration_s`` included."""
        return {
            "scenario": self.scenario,
            "host": self.host,
            "locust_version": self.locust_version,
            "loadgate_version": self.loadgate_version,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "duration_s": self.duration_s,
            "workers": self.workers,
            "stopped_early": self.stopped_early,
            "fatal_error": self.fatal_error,
        }


@dataclass(frozen=True)
class StageRun:
    """One stage as planned, and when it actually ran.

    Attributes:
        index: Position in the scenario, from 0.
        name: Stage name, e.g. ``Peak``.
        users: Planned concurrent users.
        spawn_rate: Users started per second while ramping.
        duration_s: Planned length in seconds.
        start: Epoch seconds the stage started, None if it was never reached.
        end: Epoch seconds the stage ended, None if it never ended.
    """

    index: int
    name: str
    users: int
    spawn_rate: float
    duration_s: float
    start: float | None
    end: float | None

    @property
    def ran(self) -> bool:
        """Whether the stage started at all."""
        return self.start is not None

    @property
    def elapsed_s(self) -> float | None:
        """Seconds the stage actually lasted, or None if it never started or ended."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """Return the stage in ``run.json``'s shape."""
        return {
            "name": self.name,
            "users": self.users,
            "spawn_rate": self.spawn_rate,
            "duration_s": self.duration_s,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, eq=False)
class Run:
    """Everything a run directory holds, read and normalised.

    Attributes:
        run_dir: The directory it was read from.
        facts: The run's facts from ``run.json``.
        stages: The stages in scenario order.
        thresholds: The thresholds the run is judged by.
        stage_stats: ``loadgate_stages.csv`` (columns in
            :data:`reporting.readers.STAGE_COLUMNS`).
        stats: Locust's whole-run stats (see :func:`reporting.readers.read_stats`).
        history: Locust's stats history.
        failures: Locust's failures table.
        exceptions: Locust's exceptions table.

    The frames are not copied by anything that reads them: treat them as read-only.
    """

    run_dir: Path
    facts: RunFacts
    stages: tuple[StageRun, ...]
    thresholds: tuple[Threshold, ...]
    stage_stats: pd.DataFrame
    stats: pd.DataFrame
    history: pd.DataFrame
    failures: pd.DataFrame
    exceptions: pd.DataFrame


def load_run(run_dir: Path) -> Run:
    """Read a run directory written by loadgate's Locust plugin.

    Args:
        run_dir: The directory, e.g. ``results/20260101-100000``.

    Returns:
        The run, with every table as a normalised pandas frame.

    Raises:
        InputDataError: ``run.json`` or ``loadgate_stages.csv`` is missing, any file
            is truncated or malformed, or the two disagree about the stages. The
            message names the file and the reason.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputDataError(f"{run_dir}: not a directory; expected a run directory")

    document = _read_json(run_dir / RUN_JSON)
    facts, stages, thresholds = _parse_run_json(run_dir / RUN_JSON, document)
    stage_stats = readers.read_stage_table(run_dir / STAGES_CSV)
    _check_stages(run_dir / STAGES_CSV, stage_stats, stages)

    run = Run(
        run_dir=run_dir,
        facts=facts,
        stages=stages,
        thresholds=thresholds,
        stage_stats=stage_stats,
        stats=readers.read_stats(run_dir / STATS_CSV, missing_ok=True),
        history=readers.read_stats_history(run_dir / HISTORY_CSV, missing_ok=True),
        failures=readers.read_failures(run_dir / FAILURES_CSV, missing_ok=True),
        exceptions=readers.read_exceptions(run_dir / EXCEPTIONS_CSV, missing_ok=True),
    )
    logger.info(
        "run loaded: %s (scenario %s, %s stages, %s thresholds)",
        run_dir,
        facts.scenario,
        len(stages),
        len(thresholds),
    )
    return run


def _read_json(path: Path) -> Mapping[str, Any]:
    """Read and decode ``run.json``, which must be an object."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputDataError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputDataError(f"{path}: cannot read the file ({error})") from None

    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputDataError(
            f"{path}: not valid JSON ({error.msg}: line {error.lineno}, "
            f"column {error.colno}); the file looks truncated or garbled"
        ) from None
    if not isinstance(document, dict):
        raise InputDataError(f"{path}: expected a JSON object, got {document!r:.60}")
    return document


def _parse_run_json(
    path: Path, document: Mapping[str, Any]
) -> tuple[RunFacts, tuple[StageRun, ...], tuple[Threshold, ...]]:
    """Turn ``run.json``'s object into facts, stages and thresholds."""
    field = _Fields(path)
    facts = RunFacts(
        scenario=field.text(document, "scenario"),
        host=_without_credentials(field.text(document, "host")),
        locust_version=field.text(document, "locust_version"),
        loadgate_version=field.text(document, "loadgate_version"),
        started_at=field.number_or_none(document, "started_at"),
        ended_at=field.number_or_none(document, "ended_at"),
        workers=field.whole(document, "workers"),
        stopped_early=field.flag(document, "stopped_early"),
        fatal_error=field.text_or_none(document, "fatal_error"),
    )
    stages = tuple(
        field.stage(item, index, f"stages[{index}]")
        for index, item in enumerate(field.items(document, "stages"))
    )
    thresholds = tuple(
        field.threshold(item, f"thresholds[{index}]")
        for index, item in enumerate(field.items(document, "thresholds"))
    )
    return facts, stages, thresholds


class _Fields:
    """Typed reads from ``run.json`` whose errors name the file and key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, value: object, expected: str) -> InputDataError:
        return InputDataError(
            f"{self.path}: {where}: got {value!r}; expected {expected}"
        )

    def get(self, data: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in data:
            raise InputDataError(f"{self.path}: {where}: missing key {key!r}")
        return data[key]

    def text(self, data: Mapping[str, Any], key: str, prefix: str = "") -> str:
        value = self.get(data, key, prefix + key)
        if not isinstance(value, str):
            raise self.fail(prefix + key, value, "a string")
        return value

    def text_or_none(self, data: Mapping[str, Any], key: str) -> str | None:
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.fail(key, value, "a string or null")
        return value

    def number(self, data: Mapping[str, Any], key: str, prefix: str = "") -> float:
        value = self.get(data, key, prefix + key)
        if isinstance(value, bool) or not isinstance(value, _NUMBER):
            raise self.fail(prefix + key, value, "a number")
        return float(value)

    def whole(self, data: Mapping[str, Any], key: str, prefix: str = "") -> int:
        value = self.number(data, key, prefix)
        if value != int(value) or value < 0:
            raise self.fail(prefix + key, data[key], "a whole number >= 0")
        return int(value)

    def number_or_none(
        self, data: Mapping[str, Any], key: str, prefix: str = ""
    ) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        return self.number(data, key, prefix)

    def flag(self, data: Mapping[str, Any], key: str) -> bool:
        value = self.get(data, key, key)
        if not isinstance(value, bool):
            raise self.fail(key, value, "true or false")
        return value

    def items(self, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = self.get(data, key, key)
        if not isinstance(value, list):
            raise self.fail(key, value, "a list")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.fail(f"{key}[{index}]", item, "an object")
        return value

    def stage(self, data: Mapping[str, Any], index: int, where: str) -> StageRun:
        prefix = where + "."
        return StageRun(
            index=index,
            name=self.text(data, "name", prefix),
            users=self.whole(data, "users", prefix),
            spawn_rate=self.number(data, "spawn_rate", prefix),
            duration_s=self.number(data, "duration_s", prefix),
            start=self.number_or_none(data, "start", prefix),
            end=self.number_or_none(data, "end", prefix),
        )

    def threshold(self, data: Mapping[str, Any], where: str) -> Threshold:
        prefix = where + "."
        metric = self.text(data, "metric", prefix)
        if metric not in METRICS:
            raise self.fail(prefix + "metric", metric, f"one of {', '.join(METRICS)}")
        op = self.text(data, "op", prefix)
        if op not in ("below", "at_least"):
            raise self.fail(prefix + "op", op, "'below' or 'at_least'")
        self.number(data, "limit", prefix)
        for key in ("stages", "endpoints"):
            names = data.get(key, [])
            if not isinstance(names, list) or not all(
                isinstance(name, str) for name in names
            ):
                raise self.fail(prefix + key, names, "a list of names")
        return Threshold.from_dict(data)


def _without_credentials(host: str) -> str:
    """Hide any ``user:password@`` in a host URL, so it never reaches a report."""
    parts = urlsplit(host)
    if "@" not in parts.netloc:
        return host
    netloc = "***@" + parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=netloc))


def _check_stages(
    path: Path, stage_stats: pd.DataFrame, stages: tuple[StageRun, ...]
) -> None:
    """Refuse a stage table that disagrees with ``run.json``'s stages."""
    planned = [stage.name for stage in stages]
    for name in stage_stats["stage"].unique():
        if name not in planned:
            raise InputDataError(
                f"{path}: stage {name!r} is not a stage of {RUN_JSON} "
                f"({', '.join(planned)})"
            )

    totals = set(stage_stats.loc[stage_stats["endpoint"] == TOTAL, "stage"])
    for stage in stages:
        if stage.ran and stage.end is not None and stage.name not in totals:
            raise InputDataError(
                f"{path}: stage {stage.name!r} ran but has no {TOTAL!r} row; "
                "the file looks truncated"
            )
