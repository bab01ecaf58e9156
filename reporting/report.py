"""Write a judged run as ``report.html`` (people), ``summary.json`` (machines) and CI files.

All outputs are built from the same computed rows (see :mod:`reporting._frames`). The
HTML is one self-contained, autoescaped jinja2 page: every string that came from a CSV
is escaped, the charts are SVG data URIs, and the page loads nothing from elsewhere.
``summary.json`` follows the JSON Schema in ``reporting/schema/summary.schema.json``
(version :data:`SCHEMA_VERSION`); ``junit.xml`` and ``summary.md`` come from
:mod:`reporting.ci`.

:func:`generate` does the whole job for the command line: load, judge, analyse,
compare, write, with a progress line per step.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from loadgate.errors import ReportError
from loadgate.scenarios import TOTAL, ScenarioFile
from reporting import _format, _frames, ci
from reporting.analysis import Analysis, analyse
from reporting.compare import Comparison, Tolerance, compare
from reporting.precision import PRECISION_NOTE
from reporting.run import Run, load_run, with_scenario_settings
from reporting.verdicts import (
    CHECK_STATUSES,
    Verdict,
    evaluate,
    overall_status,
    status_counts,
    threshold_status,
)

__all__ = [
    "HISTORY_COLUMNS",
    "JUNIT_XML",
    "REPORT_HTML",
    "SCHEMA_VERSION",
    "SUMMARY_JSON",
    "SUMMARY_MD",
    "Generated",
    "ReportPaths",
    "build_summary",
    "generate",
    "render_html",
    "write_report",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2
"""Version of the ``summary.json`` layout; raised when a key changes meaning."""

SUMMARY_JSON = "summary.json"
REPORT_HTML = "report.html"
JUNIT_XML = "junit.xml"
SUMMARY_MD = "summary.md"

HISTORY_COLUMNS = ("user_count", "rps", "failures_per_s", "p50_ms", "p95_ms", "p99_ms")
"""The stats-history columns a report uses (a day of full history holds many more)."""

_STATUS_ORDER = {status: index for index, status in enumerate(CHECK_STATUSES)}
_PACED_COLUMNS = ("target_rps", "late_sends", "co_p50_ms", "co_p95_ms", "co_p99_ms")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_report` wrote the report files.

    Attributes:
        summary_json: The machine-readable summary.
        report_html: The HTML report.
        junit_xml: One JUnit test case per threshold.
        summary_md: Markdown for a pull-request comment or a CI step summary.
    """

    summary_json: Path
    report_html: Path
    junit_xml: Path
    summary_md: Path


@dataclass(frozen=True)
class Generated:
    """Everything :func:`generate` made.

    Attributes:
        run: The run, with its settings completed.
        verdicts: Its threshold checks.
        analysis: Its findings.
        comparison: The comparison with the baselines, or None without any.
        paths: The files written.
    """

    run: Run
    verdicts: list[Verdict]
    analysis: Analysis
    comparison: Comparison | None
    paths: ReportPaths


def generate(
    source: Path,
    out_dir: Path | None = None,
    *,
    baselines: Sequence[Path] = (),
    scenarios: ScenarioFile | None = None,
    scenario_name: str | None = None,
    tolerances: Mapping[str, Tolerance] | None = None,
    progress: Progress | None = None,
) -> Generated:
    """Load, judge, analyse, compare and write the report of one run.

    Args:
        source: A run directory, or a Locust CSV prefix.
        out_dir: Where to write; if None, the run directory, or for plain Locust CSVs
            ``<prefix>-report/`` beside them.
        baselines: Run directories (or prefixes) to compare with.
        scenarios: The scenarios file, to complete the settings a run did not record
            (``min_samples``, APDEX times, target profile) from its scenario, and to
            judge plain Locust CSVs, which carry no thresholds.
        scenario_name: The scenario to take them from; the run's own by default,
            and for Locust CSVs the file's common thresholds and settings.
        tolerances: Comparison tolerance per metric.
        progress: Called with one line per step.

    Returns:
        What was made.

    Raises:
        InputDataError: A run cannot be read.
        ConfigError: ``scenario_name`` is not in the scenarios file.
        ReportError: A file cannot be written.
    """
    step = _Steps(progress)
    # matplotlib takes half a second to import: let it load while the CSVs are read.
    warm_up = threading.Thread(
        target=importlib.import_module, args=("reporting.charts",)
    )
    warm_up.start()
    loaded = load_run(source, history_columns=HISTORY_COLUMNS, aggregated_history=True)
    run = _with_scenario(loaded, scenarios, scenario_name)
    step.done(f"read {run.run_id} ({len(run.history):,} history rows)")

    verdicts = evaluate(run)
    analysis = analyse(run, verdicts)
    comparison = None
    if baselines:
        bases = [
            load_run(path, history_columns=(), aggregated_history=True)
            for path in baselines
        ]
        comparison = compare(run, bases, tolerances)
    step.done(f"judged {len(verdicts)} checks, {len(analysis.findings)} findings")

    warm_up.join()
    if out_dir is None:
        # Plain Locust CSVs often share a folder: each prefix gets a folder of its own.
        out_dir = (
            run.run_dir
            if run.source == "loadgate"
            else run.run_dir.parent / f"{run.run_dir.name}-report"
        )
    paths = write_report(
        run, verdicts, out_dir, analysis=analysis, comparison=comparison
    )
    step.done(f"wrote {paths.report_html}")
    return Generated(run, verdicts, analysis, comparison, paths)


def _with_scenario(run: Run, scenarios: ScenarioFile | None, name: str | None) -> Run:
    """Complete a run's settings (and a Locust run's thresholds) from scenarios.yaml."""
    if scenarios is None:
        return run
    if name is not None:
        scenario = scenarios.scenario(name)
    elif run.source == "loadgate" and run.facts.scenario in scenarios.scenarios:
        scenario = scenarios.scenarios[run.facts.scenario]
    elif run.source == "locust":
        scenario = scenarios.defaults()
    else:
        return run
    if run.source == "locust":
        run = dataclasses.replace(run, thresholds=scenario.thresholds)
    return with_scenario_settings(run, scenario)


class _Steps:
    """Reports each step's duration through the progress callback."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.started = time.perf_counter()

    def done(self, what: str) -> None:
        now = time.perf_counter()
        if self.progress is not None:
            self.progress(f"report: {what} in {now - self.started:.1f} s")
        self.started = now


def build_summary(
    run: Run,
    verdicts: Sequence[Verdict],
    analysis: Analysis | None = None,
    comparison: Comparison | None = None,
) -> dict[str, Any]:
    """Return the content of ``summary.json`` as JSON-ready data.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.
        analysis: The run's analysis; computed when None.
        comparison: The comparison with baselines, if any.

    Returns:
        The keys the schema documents: ``schema_version``, ``status``,
        ``stopped_early``, ``checks``, ``run``, ``settings``, ``precision``,
        ``thresholds``, ``verdicts``, ``stages``, ``endpoints``, ``findings``,
        ``recommendations``, ``scalability``, ``errors`` and ``comparison``.
        ``status`` judges the stages that ran; ``stopped_early`` says the others
        never did.
    """
    analysis = analysis if analysis is not None else analyse(run, verdicts)
    return {
        "schema_version": SCHEMA_VERSION,
        "status": overall_status(verdicts),
        "stopped_early": run.facts.stopped_early,
        "checks": status_counts(verdicts),
        "run": _run_facts(run),
        "settings": {
            "min_samples": run.settings.min_samples,
            "apdex_t_ms": dict(run.settings.apdex_t_ms),
            "target_profile": run.settings.target_profile.to_dict(),
        },
        "precision": PRECISION_NOTE,
        "thresholds": _threshold_rows(run, verdicts),
        "verdicts": [verdict.to_dict() for verdict in verdicts],
        "stages": [
            {
                "name": section["stage"].name,
                "users": section["stage"].users,
                "target_rps": section["target_rps"],
                "start": section["stage"].start,
                "end": section["stage"].end,
                "rows": section["rows"],
            }
            for section in _stage_sections(run, analysis)
        ],
        "endpoints": _frames.records(
            _frames.endpoint_rows(run.stats, run.stage_stats),
            _frames.ENDPOINT_ROW_COLUMNS,
        ),
        "findings": [finding.to_dict() for finding in analysis.findings],
        "recommendations": list(analysis.recommendations),
        "scalability": analysis.scalability.to_dict() if analysis.scalability else None,
        "errors": _frames.records(analysis.errors, _frames.ERROR_ROW_COLUMNS),
        "comparison": comparison.to_dict() if comparison else None,
    }


def render_html(
    run: Run,
    verdicts: Sequence[Verdict],
    analysis: Analysis | None = None,
    comparison: Comparison | None = None,
) -> str:
    """Render the HTML report of a judged run.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.
        analysis: The run's analysis; computed when None.
        comparison: The comparison with baselines, if any.

    Returns:
        One self-contained HTML page.
    """
    from reporting.charts import render_charts  # matplotlib loads only when drawing

    analysis = analysis if analysis is not None else analyse(run, verdicts)
    view = _html_view(run, verdicts, analysis, comparison)
    view["charts"] = render_charts(run, analysis)
    return _environment().get_template("report.html.j2").render(view)


def write_report(
    run: Run,
    verdicts: Sequence[Verdict],
    out_dir: Path,
    *,
    analysis: Analysis | None = None,
    comparison: Comparison | None = None,
) -> ReportPaths:
    """Write ``summary.json``, ``report.html``, ``junit.xml`` and ``summary.md``.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.
        out_dir: Where to write; created if missing.
        analysis: The run's analysis; computed when None.
        comparison: The comparison with baselines, if any.

    Returns:
        The paths written.

    Raises:
        ReportError: The directory or a file could not be written.
    """
    out_dir = Path(out_dir)
    analysis = analysis if analysis is not None else analyse(run, verdicts)
    paths = ReportPaths(
        out_dir / SUMMARY_JSON,
        out_dir / REPORT_HTML,
        out_dir / JUNIT_XML,
        out_dir / SUMMARY_MD,
    )
    summary = json.dumps(
        build_summary(run, verdicts, analysis, comparison),
        indent=2,
        ensure_ascii=False,
        allow_nan=False,
    )
    html = render_html(run, verdicts, analysis, comparison)
    junit = ci.junit_xml(run, verdicts)
    markdown = ci.summary_markdown(run, verdicts, analysis, comparison, REPORT_HTML)

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(
            f"{out_dir}: cannot create the report directory ({error.strerror})"
        ) from None
    _write(paths.summary_json, summary + "\n")
    _write(paths.report_html, html)
    _write(paths.junit_xml, junit)
    _write(paths.summary_md, markdown)
    logger.info("report written: %s and %s", paths.summary_json, paths.report_html)
    return paths


def _write(path: Path, text: str) -> None:
    """Write a report file, turning OS errors into a ReportError naming the file."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ReportError(f"{path}: cannot write the file ({error.strerror})") from None


@functools.cache
def _environment() -> jinja2.Environment:
    """Return the one autoescaped jinja2 environment, with the formatters as filters."""
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters.update(_format.FILTERS)
    return environment


def _run_facts(run: Run) -> dict[str, Any]:
    """Return the run's facts and stages, without its thresholds."""
    return {
        "run_id": run.run_id,
        "source": run.source,
        **run.facts.to_dict(),
        "stages": [stage.to_dict() for stage in run.stages],
    }


def _threshold_rows(run: Run, verdicts: Sequence[Verdict]) -> list[dict[str, Any]]:
    """Each threshold with its overall status and counts of its checks."""
    rows = []
    for threshold in run.thresholds:
        group = [v for v in verdicts if v.threshold == threshold.label]
        worst = ci.worst_check(group, threshold.op)
        rows.append(
            {
                **threshold.to_dict(),
                "label": threshold.label,
                "status": threshold_status(group),
                "checks": status_counts(group),
                "worst": worst.to_dict() if worst else None,
            }
        )
    return rows


def _stage_sections(run: Run, analysis: Analysis) -> list[dict[str, Any]]:
    """Return each stage with its per-endpoint rows (empty if it never ran)."""
    metrics = _frames.stage_metrics(run.stage_stats)
    apdex = analysis.apdex.set_index(["stage", "endpoint"])["apdex"].to_dict()
    sections = []
    for stage in run.stages:
        rows = _frames.stage_rows(metrics, stage.name)
        scores = [apdex.get((stage.name, str(e)), math.nan) for e in rows["endpoint"]]
        rows = rows.assign(apdex=pd.Series(scores, index=rows.index, dtype="float64"))
        records = _frames.records(rows, _frames.STAGE_ROW_COLUMNS)
        paced = {
            column: bool(rows[column].notna().any())
            for column in _PACED_COLUMNS
            if column in rows.columns
        }
        total = rows[rows["endpoint"] == TOTAL]
        target = None
        if not total.empty and "target_rps" in total.columns:
            target = _frames.plain(total["target_rps"].iloc[0])
        sections.append(
            {"stage": stage, "rows": records, "paced": paced, "target_rps": target}
        )
    return sections


def _html_view(
    run: Run,
    verdicts: Sequence[Verdict],
    analysis: Analysis,
    comparison: Comparison | None,
) -> dict[str, Any]:
    """Return everything the HTML template lays out, already computed."""
    labels = _frames.request_labels(run.stage_stats)
    ordered = sorted(verdicts, key=lambda verdict: _STATUS_ORDER[verdict.status])
    missing = run.facts.missing_files
    return {
        "status": overall_status(verdicts),
        "interruption": run.interruption,
        "facts": run.facts,
        "missing_failures": next(
            (name for name in missing if name.endswith("_failures.csv")), None
        ),
        "run_id": run.run_id,
        "source": run.source,
        "settings": run.settings,
        "counts": status_counts(verdicts),
        "checks": len(verdicts),
        "thresholds": _threshold_rows(run, verdicts),
        "verdicts": [
            {"verdict": verdict, "request": labels.get(verdict.endpoint, "")}
            for verdict in ordered
        ],
        "precision": PRECISION_NOTE,
        "stages": _stage_sections(run, analysis),
        "endpoints": _frames.records(
            _frames.endpoint_rows(run.stats, run.stage_stats),
            _frames.ENDPOINT_ROW_COLUMNS,
        ),
        "analysis": analysis,
        "comparison": comparison,
        "errors": _frames.records(analysis.errors, _frames.ERROR_ROW_COLUMNS),
        "exceptions": _frames.records(
            _frames.exception_rows(run.exceptions), _frames.EXCEPTION_ROW_COLUMNS
        ),
        "cpu_warnings": run.facts.cpu_warnings,
    }
