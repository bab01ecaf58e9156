"""Load a run directory (``results/<run-id>/``), or any Locust run's CSVs, into a :class:`Run`.

loadgate's Locust plugin writes, with the prefix ``loadgate``:

* ``run.json``: the run's facts, its stages (planned and actual times) and thresholds,
  and optionally ``min_samples``, ``apdex_t_ms``, ``target_profile`` and
  ``cpu_warnings``;
* ``loadgate_stages.csv``: one row per stage and endpoint plus a ``total`` per stage;
* Locust's own ``loadgate_stats.csv``, ``loadgate_stats_history.csv``,
  ``loadgate_failures.csv`` and ``loadgate_exceptions.csv``.

All of them are required: Locust writes its four CSVs in every loadgate run, so a
missing one means the directory is incomplete (copied in part, or an artifact upload
that left a file out), and it is an :class:`~loadgate.errors.InputDataError` naming the
file rather than a report that silently shows no errors.

Any Locust run's CSVs can be read too, by their ``--csv`` prefix (``out/run`` for
``out/run_stats.csv``; Locust 0.x ``*_requests.csv`` and ``*_distribution.csv``
included). Such a run has no stage plan, so it becomes one stage, ``Whole run``,
whose rows come from the stats file. Only the stats file is required there (older
Locust versions write no failures, history or exceptions file); the optional files not
found are read as empty tables and named in :attr:`RunFacts.missing_files`, so the
report can say so.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from loadgate.errors import ConfigError, InputDataError
from loadgate.scenarios import (
    DEFAULT_APDEX_T_MS,
    DEFAULT_MIN_SAMPLES,
    METRICS,
    TOTAL,
    Scenario,
    TargetProfile,
    Threshold,
)
from reporting import _format, readers

__all__ = [
    "EXCEPTIONS_CSV",
    "FAILURES_CSV",
    "HISTORY_CSV",
    "LOCUST_CSV_SUFFIXES",
    "RUN_JSON",
    "STAGES_CSV",
    "STATS_CSV",
    "WHOLE_RUN",
    "CpuWarning",
    "Run",
    "RunFacts",
    "RunSettings",
    "StageRun",
    "load_locust_csvs",
    "load_run",
    "with_scenario_settings",
]

logger = logging.getLogger(__name__)

RUN_JSON = "run.json"
STAGES_CSV = "loadgate_stages.csv"
STATS_CSV = "loadgate_stats.csv"
HISTORY_CSV = "loadgate_stats_history.csv"
FAILURES_CSV = "loadgate_failures.csv"
EXCEPTIONS_CSV = "loadgate_exceptions.csv"

WHOLE_RUN = "Whole run"
"""The one stage of a run read from plain Locust CSVs."""

_LOCUST_CSVS: Mapping[str, str] = {
    STATS_CSV: "Locust's request statistics",
    HISTORY_CSV: "the statistics over time",
    FAILURES_CSV: "the failed requests and their errors",
    EXCEPTIONS_CSV: "the exceptions the load test raised",
}
"""The Locust CSVs every loadgate run directory holds, and what each tells."""
_OPTIONAL_LOCUST_CSVS = ("stats_history", "failures", "exceptions")
"""The CSVs beside a plain Locust stats file that may be absent, by suffix."""
LOCUST_CSV_SUFFIXES = (
    "_stats_history.csv",
    "_stats.csv",
    "_failures.csv",
    "_exceptions.csv",
    "_requests.csv",
    "_distribution.csv",
)
"""The ends of Locust's CSV file names after the ``--csv`` prefix (longest first)."""

_NUMBER = (int, float)
# A stage's recorded end may fall a moment before its planned length: not cut short.
_FULL_STAGE_SLACK_S = 0.05
_SETTING_KEYS = ("min_samples", "apdex_t_ms", "target_profile")


@dataclass(frozen=True)
class CpuWarning:
    """A load generator process that ran hot (from ``run.json``'s ``cpu_warnings``).

    Attributes:
        worker: Which process: ``local``, ``master`` or a worker id.
        at: Epoch seconds of the sample.
        percent: CPU use in percent.
    """

    worker: str
    at: float
    percent: float


@dataclass(frozen=True)
class LostWorker:
    """A Locust worker that went missing mid-run (from ``run.json``'s ``lost_workers``).

    Attributes:
        worker: The worker's id.
        at: Epoch seconds when the master noticed it was gone.
        users: Users it was running then.
        share_pct: Its share of all users then, in percent.
    """

    worker: str
    at: float
    users: int
    share_pct: float


@dataclass(frozen=True)
class RunSettings:
    """How the run is judged beyond its thresholds.

    Attributes:
        min_samples: Fewest requests a stage x endpoint needs to be judged.
        apdex_t_ms: APDEX target time per endpoint key; others use the default.
        target_profile: The production limits the load is related to.
        given: Which of ``min_samples``, ``apdex_t_ms``, ``target_profile`` the run
            itself recorded (the others may still come from a scenarios file).
    """

    min_samples: int = DEFAULT_MIN_SAMPLES
    apdex_t_ms: Mapping[str, float] = field(default_factory=dict)
    target_profile: TargetProfile = field(default_factory=TargetProfile)
    given: frozenset[str] = frozenset()

    def apdex_t(self, endpoint: str) -> float:
        """Return the APDEX target time of an endpoint, in milliseconds."""
        return self.apdex_t_ms.get(endpoint, DEFAULT_APDEX_T_MS)


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
        cpu_warnings: Samples of load-generator processes above 90 % CPU.
        lost_workers: Workers lost mid-run; any makes the run degraded.
        missing_files: Optional Locust CSVs that were not found and were read as
            empty tables, by file name (plain Locust CSVs only: a loadgate run
            directory must hold them all).
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
    cpu_warnings: tuple[CpuWarning, ...] = ()
    lost_workers: tuple[LostWorker, ...] = ()
    missing_files: tuple[str, ...] = ()

    @property
    def degraded(self) -> bool:
        """Whether a worker was lost during the run."""
        return bool(self.lost_workers)

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
            "cpu_warnings": [
                {"worker": w.worker, "at": w.at, "percent": w.percent}
                for w in self.cpu_warnings
            ],
            "degraded": self.degraded,
            "lost_workers": [
                {
                    "worker": w.worker,
                    "at": w.at,
                    "users": w.users,
                    "share_pct": w.share_pct,
                }
                for w in self.lost_workers
            ],
            "missing_files": list(self.missing_files),
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
        settings: Minimum samples, APDEX times and the target profile.
        source: ``loadgate`` for a run directory, ``locust`` for plain Locust CSVs.

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
    settings: RunSettings = field(default_factory=RunSettings)
    source: str = "loadgate"

    @property
    def run_id(self) -> str:
        """The run's name: its directory, or the Locust CSV prefix's last part."""
        return self.run_dir.name

    @property
    def interruption(self) -> str | None:
        """How far a run that stopped early got; None if it did not stop early.

        The stage that ran last was cut short (unless it lasted its planned time);
        e.g. ``ran Light and 5.6 s of Medium; Heavy, Peak never ran``.
        """
        if not self.facts.stopped_early:
            return None
        started = [stage for stage in self.stages if stage.ran]
        if not started:
            return "no stage ran"

        ran = [_stage_part(stage, stage is started[-1]) for stage in started]
        text = "ran " + _and_list(ran)
        never = [stage.name for stage in self.stages if not stage.ran]
        if never:
            text += f"; {', '.join(never)} never ran"
        return text


def _stage_part(stage: StageRun, last: bool) -> str:
    """Name a stage that ran, with the time it ran if it was cut short."""
    elapsed = stage.elapsed_s
    if elapsed is None:
        return f"part of {stage.name}"
    if last and elapsed < stage.duration_s - _FULL_STAGE_SLACK_S:
        return f"{_format.fmt_duration(elapsed)} of {stage.name}"
    return stage.name


def _and_list(items: Sequence[str]) -> str:
    """Join ``a``, ``b``, ``c`` as ``a, b and c``."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def load_run(
    run_dir: Path,
    *,
    history_columns: Sequence[str] | None = None,
    aggregated_history: bool = False,
) -> Run:
    """Read a run directory written by loadgate's Locust plugin, or a Locust CSV prefix.

    Args:
        run_dir: The directory, e.g. ``results/20260101-100000``; or the ``--csv``
            prefix of any Locust run (see :func:`load_locust_csvs`), or one of that
            run's CSV files (``out/run_stats.csv`` is read as the prefix ``out/run``).
        history_columns: Read only these columns of the stats history (all when
            None); a report needs only a few of a long history's columns.
        aggregated_history: Read only the history's ``Aggregated`` rows (a full
            history has one more per endpoint).

    Returns:
        The run, with every table as a normalised pandas frame.

    Raises:
        InputDataError: ``run.json``, ``loadgate_stages.csv`` or one of Locust's CSVs
            is missing, any file is truncated or malformed, or ``run.json`` and the
            stage table disagree about the stages. The message names the file and
            the reason.
    """
    run_dir = Path(run_dir)
    if run_dir.is_file():
        csv_prefix = _prefix_of_locust_csv(run_dir)
        if _locust_stats_file(csv_prefix) is None:
            raise InputDataError(
                f"{run_dir}: a Locust CSV, but no {csv_prefix.name}_stats.csv (or 0.x "
                f"{csv_prefix.name}_requests.csv) beside it, which a report needs"
            )
        return load_locust_csvs(
            csv_prefix,
            history_columns=history_columns,
            aggregated_history=aggregated_history,
        )
    if not run_dir.is_dir():
        if _locust_stats_file(run_dir) is not None:
            return load_locust_csvs(
                run_dir,
                history_columns=history_columns,
                aggregated_history=aggregated_history,
            )
        raise InputDataError(
            f"{run_dir}: not a run directory, nor the prefix of Locust CSV files "
            f"(no {run_dir.name}_stats.csv beside it)"
        )
    if not (run_dir / RUN_JSON).exists():
        prefix = _single_prefix(run_dir)
        if prefix is not None:
            logger.warning(
                "%s: no %s; read as the plain Locust CSVs %s_*.csv",
                run_dir,
                RUN_JSON,
                prefix.name,
            )
            return load_locust_csvs(
                prefix,
                history_columns=history_columns,
                aggregated_history=aggregated_history,
            )

    document = _read_json(run_dir / RUN_JSON)
    facts, stages, thresholds = _parse_run_json(run_dir / RUN_JSON, document)
    settings = _parse_settings(run_dir / RUN_JSON, document)
    stage_stats = readers.read_stage_table(run_dir / STAGES_CSV)
    _check_stages(run_dir / STAGES_CSV, stage_stats, stages)
    stage_stats = _with_stage_users(stage_stats, stages)
    _require_locust_csvs(run_dir)

    run = Run(
        run_dir=run_dir,
        facts=facts,
        stages=stages,
        thresholds=thresholds,
        stage_stats=stage_stats,
        stats=readers.read_stats(run_dir / STATS_CSV),
        history=readers.read_stats_history(
            run_dir / HISTORY_CSV,
            columns=history_columns,
            aggregated_only=aggregated_history,
        ),
        failures=readers.read_failures(run_dir / FAILURES_CSV),
        exceptions=readers.read_exceptions(run_dir / EXCEPTIONS_CSV),
        settings=settings,
    )
    logger.info(
        "run loaded: %s (scenario %s, %s stages, %s thresholds)",
        run_dir,
        facts.scenario,
        len(stages),
        len(thresholds),
    )
    return run


def _require_locust_csvs(run_dir: Path) -> None:
    """Refuse a run directory that lacks any of the Locust CSVs its run wrote."""
    missing = [name for name in _LOCUST_CSVS if not (run_dir / name).is_file()]
    if not missing:
        return
    told = "; ".join(_LOCUST_CSVS[name] for name in missing)
    if len(missing) == 1:
        where, what, it = run_dir / missing[0], "file not found", "it"
    else:
        where, what, it = run_dir, f"{_and_list(missing)} not found", "them"
    raise InputDataError(
        f"{where}: {what}; every loadgate run writes {it} ({told}), so this run "
        "directory is incomplete: copy the whole directory, or run again"
    )


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
        cpu_warnings=tuple(
            field.cpu_warning(item, f"cpu_warnings[{index}]")
            for index, item in enumerate(
                field.items(document, "cpu_warnings")
                if "cpu_warnings" in document
                else []
            )
        ),
        lost_workers=tuple(
            field.lost_worker(item, f"lost_workers[{index}]")
            for index, item in enumerate(
                field.items(document, "lost_workers")
                if "lost_workers" in document
                else []
            )
        ),
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

    def cpu_warning(self, data: Mapping[str, Any], where: str) -> CpuWarning:
        prefix = where + "."
        worker = self.get(data, "worker", prefix + "worker")
        return CpuWarning(
            worker=str(worker),
            at=self.number(data, "at", prefix),
            percent=self.number(data, "percent", prefix),
        )

    def lost_worker(self, data: Mapping[str, Any], where: str) -> LostWorker:
        prefix = where + "."
        return LostWorker(
            worker=str(self.get(data, "worker", prefix + "worker")),
            at=self.number(data, "at", prefix),
            users=int(self.number(data, "users", prefix)),
            share_pct=self.number(data, "share_pct", prefix),
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


def with_scenario_settings(run: Run, scenario: Scenario) -> Run:
    """Fill the settings the run did not record from its scenario in scenarios.yaml.

    Settings ``run.json`` holds win; the others (``min_samples``, the endpoints'
    ``apdex_t_ms``, ``target_profile``) come from the scenario.

    Args:
        run: The loaded run.
        scenario: The scenario the run ran, from the scenarios file.

    Returns:
        A run with the completed settings (the same frames).
    """
    given = run.settings.given
    settings = RunSettings(
        min_samples=(
            run.settings.min_samples if "min_samples" in given else scenario.min_samples
        ),
        apdex_t_ms=(
            run.settings.apdex_t_ms
            if "apdex_t_ms" in given
            else {key: ep.apdex_t_ms for key, ep in scenario.endpoints.items()}
        ),
        target_profile=(
            run.settings.target_profile
            if "target_profile" in given
            else scenario.target_profile
        ),
        given=frozenset(_SETTING_KEYS),
    )
    return dataclasses.replace(run, settings=settings)


def load_locust_csvs(
    prefix: Path,
    *,
    history_columns: Sequence[str] | None = None,
    aggregated_history: bool = False,
) -> Run:
    """Read the CSVs of any Locust run (0.x to 2.x) by their ``--csv`` prefix.

    Args:
        prefix: ``out/run`` for ``out/run_stats.csv``, ``out/run_stats_history.csv``,
            ``out/run_failures.csv`` and ``out/run_exceptions.csv``; or
            ``out/run_requests.csv`` and ``out/run_distribution.csv`` from Locust 0.x.
            Only the stats file is required.
        history_columns: As for :func:`load_run`.
        aggregated_history: As for :func:`load_run`.

    Returns:
        A run of one stage, :data:`WHOLE_RUN`, with no thresholds; endpoints are
        named ``METHOD name``. The optional files not found (a Locust 0.x
        distribution, the history, failures and exceptions) are read as empty tables
        and named in the facts' ``missing_files``.

    Raises:
        InputDataError: No stats file, or a file is malformed.
    """
    prefix = Path(prefix)
    stats_path = _locust_stats_file(prefix)
    if stats_path is None:
        raise InputDataError(
            f"{prefix}: no Locust stats file ({prefix.name}_stats.csv or "
            f"{prefix.name}_requests.csv) beside it"
        )
    stats = readers.read_stats(stats_path)
    distribution = Path(f"{prefix}_distribution.csv")
    if distribution.exists():
        stats = _with_distribution(stats, readers.read_distribution(distribution))
    optional = [
        *([distribution] if stats_path.name.endswith("_requests.csv") else []),
        *(Path(f"{prefix}_{kind}.csv") for kind in _OPTIONAL_LOCUST_CSVS),
    ]
    missing = tuple(path.name for path in optional if not path.is_file())

    history = readers.read_stats_history(
        Path(f"{prefix}_stats_history.csv"),
        missing_ok=True,
        columns=history_columns,
        aggregated_only=aggregated_history,
    )
    start, end, users = _history_span(history)
    stage = StageRun(
        0, WHOLE_RUN, users, 0.0, (end or 0.0) - (start or 0.0), start, end
    )
    run = Run(
        run_dir=prefix,
        facts=RunFacts(
            scenario=prefix.name or stats_path.name,
            host="unknown (plain Locust CSVs)",
            locust_version="unknown",
            loadgate_version="not used",
            started_at=start,
            ended_at=end,
            workers=0,
            stopped_early=False,
            fatal_error=None,
            missing_files=missing,
        ),
        stages=(stage,),
        thresholds=(),
        stage_stats=_stage_table_from_stats(stats, stage),
        stats=stats,
        history=history,
        failures=readers.read_failures(Path(f"{prefix}_failures.csv"), missing_ok=True),
        exceptions=readers.read_exceptions(
            Path(f"{prefix}_exceptions.csv"), missing_ok=True
        ),
        source="locust",
    )
    logger.info("Locust CSVs loaded: %s (%s rows of stats)", prefix, len(stats))
    return run


def _locust_stats_file(prefix: Path) -> Path | None:
    """Return ``<prefix>_stats.csv`` (or 0.x ``<prefix>_requests.csv``) if it exists."""
    for suffix in ("_stats.csv", "_requests.csv"):
        candidate = Path(f"{prefix}{suffix}")
        if candidate.is_file():
            return candidate
    return None


def _prefix_of_locust_csv(path: Path) -> Path:
    """Return a Locust CSV file's ``--csv`` prefix (``out/run`` for ``out/run_stats.csv``).

    Raises:
        InputDataError: The file's name does not end in one of Locust's suffixes, or
            nothing is left before the suffix (an empty ``--csv`` prefix).
    """
    for suffix in LOCUST_CSV_SUFFIXES:
        if path.name == suffix:
            raise InputDataError(
                f"{path}: a Locust CSV with an empty --csv prefix; rename the files "
                f"(e.g. to run{suffix}) and give that path"
            )
        if path.name.endswith(suffix):
            return path.with_name(path.name[: -len(suffix)])
    raise InputDataError(
        f"{path}: a file, but not a Locust CSV (its name does not end in "
        f"{', '.join(LOCUST_CSV_SUFFIXES)}); give a run directory, a Locust --csv "
        "prefix or one of its CSV files"
    )


def _single_prefix(directory: Path) -> Path | None:
    """Return the one Locust CSV prefix in a directory without ``run.json``, if any."""
    found = sorted(
        {
            Path(str(path)[: -len(suffix)])
            for suffix in ("_stats.csv", "_requests.csv")
            for path in directory.glob("*" + suffix)
            if not str(path).endswith("_history" + suffix)
        }
    )
    return found[0] if len(found) == 1 else None


def _with_distribution(stats: pd.DataFrame, distribution: pd.DataFrame) -> pd.DataFrame:
    """Add a Locust 0.x distribution file's percentiles to its requests file."""
    percentiles = [
        c for c in distribution.columns if c.startswith("p") and c.endswith("_ms")
    ]
    keyed = distribution[["method", "name", *percentiles]]
    return stats.merge(keyed, on=["method", "name"], how="left")


def _history_span(history: pd.DataFrame) -> tuple[float | None, float | None, int]:
    """Return the first and last history timestamps and the most users seen."""
    if history.empty:
        return None, None, 0
    stamps = history["timestamp"].dropna()
    users = history["user_count"].max() if "user_count" in history.columns else 0
    if stamps.empty:
        return None, None, 0
    peak = 0 if users is None or math.isnan(users) else int(users)
    return float(stamps.min()), float(stamps.max()), peak


def _stage_table_from_stats(stats: pd.DataFrame, stage: StageRun) -> pd.DataFrame:
    """Make a one-stage ``loadgate_stages.csv`` table from a Locust stats file."""

    def column(name: str, fallback: str | None = None) -> pd.Series:
        if name in stats.columns:
            return stats[name].astype("float64")
        if fallback is not None and fallback in stats.columns:
            return stats[fallback].astype("float64")
        return pd.Series(math.nan, index=stats.index, dtype="float64")

    endpoint = [
        TOTAL if aggregated else f"{method} {name}".strip()
        for method, name, aggregated in zip(
            stats["method"], stats["name"], stats["aggregated"], strict=True
        )
    ]
    table = pd.DataFrame(
        {
            "stage_index": 0,
            "stage": stage.name,
            "stage_start": math.nan if stage.start is None else stage.start,
            "stage_end": math.nan if stage.end is None else stage.end,
            "endpoint": endpoint,
            "method": stats["method"].astype(str),
            "name": stats["name"].astype(str),
            "requests": stats["requests"].astype("int64"),
            "failures": stats["failures"].astype("int64"),
            "min_ms": column("min_ms"),
            "mean_ms": column("mean_ms"),
            "max_ms": column("max_ms"),
            "p50_ms": column("p50_ms", "median_ms"),
            "p90_ms": column("p90_ms"),
            "p95_ms": column("p95_ms"),
            "p99_ms": column("p99_ms"),
            "p999_ms": column("p999_ms"),
            "throughput_rps": column("rps"),
        }
    )
    for name in readers.OPTIONAL_STAGE_COLUMNS:
        table[name] = math.nan
    table["users"] = float(stage.users) if stage.users else math.nan
    last = table["endpoint"] == TOTAL
    return pd.concat([table[~last], table[last]]).reset_index(drop=True)


def _with_stage_users(
    stage_stats: pd.DataFrame, stages: Sequence[StageRun]
) -> pd.DataFrame:
    """Fill the ``users`` column from ``run.json`` where the table lacks it."""
    planned = {stage.name: float(stage.users) for stage in stages}
    users = stage_stats["users"].fillna(stage_stats["stage"].map(planned))
    return stage_stats.assign(users=users)


def _parse_settings(path: Path, document: Mapping[str, Any]) -> RunSettings:
    """Read the optional judging settings of ``run.json``."""
    given = frozenset(key for key in _SETTING_KEYS if document.get(key) is not None)
    field_reader = _Fields(path)
    min_samples = DEFAULT_MIN_SAMPLES
    if "min_samples" in given:
        min_samples = field_reader.whole(document, "min_samples")
    apdex: dict[str, float] = {}
    if "apdex_t_ms" in given:
        raw = document["apdex_t_ms"]
        if not isinstance(raw, dict):
            raise field_reader.fail("apdex_t_ms", raw, "an object of endpoint: ms")
        apdex = {
            str(key): field_reader.number(raw, str(key), "apdex_t_ms.") for key in raw
        }
    profile = TargetProfile()
    if "target_profile" in given:
        raw = document["target_profile"]
        if not isinstance(raw, dict):
            raise field_reader.fail("target_profile", raw, "an object")
        try:
            profile = TargetProfile.from_dict(raw)
        except ConfigError as error:
            raise InputDataError(f"{path}: {error}") from None
    return RunSettings(min_samples, apdex, profile, given)
