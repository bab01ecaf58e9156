"""Write a judged run as ``summary.json`` (for machines) and ``report.html`` (for people).

Both are built from the same computed rows (see :mod:`reporting._frames`). The HTML is
one self-contained, autoescaped jinja2 page: every string that came from a CSV is
escaped, and the page loads nothing from elsewhere.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from loadgate.errors import ReportError
from reporting import _format, _frames
from reporting.run import Run
from reporting.verdicts import Verdict, overall_status

__all__ = [
    "REPORT_HTML",
    "SCHEMA_VERSION",
    "SUMMARY_JSON",
    "ReportPaths",
    "build_summary",
    "render_html",
    "write_report",
]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the ``summary.json`` layout; raised when a key changes meaning."""

SUMMARY_JSON = "summary.json"
REPORT_HTML = "report.html"

_STATUS_ORDER = {"fail": 0, "no_data": 1, "pass": 2}


@dataclass(frozen=True)
class ReportPaths:
    """Where :func:`write_report` wrote the report files.

    Attributes:
        summary_json: The machine-readable summary.
        report_html: The HTML report.
    """

    summary_json: Path
    report_html: Path


def build_summary(run: Run, verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Return the content of ``summary.json`` as JSON-ready data.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.

    Returns:
        ``schema_version``, ``status``, ``run`` (facts and stages, no thresholds),
        ``thresholds``, ``verdicts``, ``stages`` (per-endpoint metrics of each stage)
        and ``endpoints`` (whole-run metrics from Locust's stats).
    """
    return {
        "schema_version": SCHEMA_VERSION,
        "status": overall_status(verdicts),
        "run": _run_facts(run),
        "thresholds": [
            {**threshold.to_dict(), "label": threshold.label}
            for threshold in run.thresholds
        ],
        "verdicts": [verdict.to_dict() for verdict in verdicts],
        "stages": [
            {
                "name": stage["stage"].name,
                "start": stage["stage"].start,
                "end": stage["stage"].end,
                "rows": stage["rows"],
            }
            for stage in _stage_sections(run)
        ],
        "endpoints": _frames.records(
            _frames.endpoint_rows(run.stats, run.stage_stats),
            _frames.ENDPOINT_ROW_COLUMNS,
        ),
    }


def render_html(run: Run, verdicts: Sequence[Verdict]) -> str:
    """Render the HTML report of a judged run.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.

    Returns:
        One self-contained HTML page.
    """
    template = _environment().get_template("report.html.j2")
    return template.render(_html_view(run, verdicts))


def write_report(run: Run, verdicts: Sequence[Verdict], out_dir: Path) -> ReportPaths:
    """Write ``summary.json`` and ``report.html`` into a directory.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.
        out_dir: Where to write; created if missing.

    Returns:
        The paths written.

    Raises:
        ReportError: The directory or a file could not be written.
    """
    out_dir = Path(out_dir)
    paths = ReportPaths(out_dir / SUMMARY_JSON, out_dir / REPORT_HTML)
    summary = json.dumps(
        build_summary(run, verdicts), indent=2, ensure_ascii=False, allow_nan=False
    )
    html = render_html(run, verdicts)

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(
            f"{out_dir}: cannot create the report directory ({error.strerror})"
        ) from None
    _write(paths.summary_json, summary + "\n")
    _write(paths.report_html, html)
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
        "run_id": run.run_dir.name,
        **run.facts.to_dict(),
        "stages": [stage.to_dict() for stage in run.stages],
    }


def _stage_sections(run: Run) -> list[dict[str, Any]]:
    """Return each stage with its per-endpoint rows (empty if it never ran)."""
    metrics = _frames.stage_metrics(run.stage_stats)
    return [
        {
            "stage": stage,
            "rows": _frames.records(
                _frames.stage_rows(metrics, stage.name), _frames.STAGE_ROW_COLUMNS
            ),
        }
        for stage in run.stages
    ]


def _html_view(run: Run, verdicts: Sequence[Verdict]) -> dict[str, Any]:
    """Return everything the HTML template lays out, already computed."""
    labels = _frames.request_labels(run.stage_stats)
    ordered = sorted(verdicts, key=lambda verdict: _STATUS_ORDER[verdict.status])
    return {
        "status": overall_status(verdicts),
        "facts": run.facts,
        "run_id": run.run_dir.name,
        "counts": {
            status: sum(verdict.status == status for verdict in verdicts)
            for status in ("pass", "fail", "no_data")
        },
        "checks": len(verdicts),
        "verdicts": [
            {"verdict": verdict, "request": labels.get(verdict.endpoint, "")}
            for verdict in ordered
        ],
        "stages": _stage_sections(run),
        "endpoints": _frames.records(
            _frames.endpoint_rows(run.stats, run.stage_stats),
            _frames.ENDPOINT_ROW_COLUMNS,
        ),
        "failures": _frames.records(
            _frames.failure_rows(run.failures), _frames.FAILURE_ROW_COLUMNS
        ),
        "exceptions": _frames.records(
            _frames.exception_rows(run.exceptions), _frames.EXCEPTION_ROW_COLUMNS
        ),
    }
