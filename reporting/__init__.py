"""reporting: read a loadgate run directory, judge it by its thresholds, report it.

Plain Python and pandas, never locust, so that it runs fast anywhere (CI included)::

    run = load_run(Path("results/20260101-100000"))
    verdicts = evaluate(run)
    write_report(run, verdicts, run.run_dir / "report")
    print(render_console(run, verdicts), end="")
    sys.exit(exit_code(verdicts))

Modules: :mod:`reporting.run` (the run directory), :mod:`reporting.readers` (Locust
CSVs of any version, normalised), :mod:`reporting.verdicts` (thresholds to verdicts
and the exit code), :mod:`reporting.report` (``summary.json`` and ``report.html``) and
:mod:`reporting.console` (the terminal verdict).
"""

from __future__ import annotations

from reporting.console import render_console, summary_line
from reporting.readers import (
    read_exceptions,
    read_failures,
    read_stage_table,
    read_stats,
    read_stats_history,
)
from reporting.report import ReportPaths, build_summary, render_html, write_report
from reporting.run import Run, RunFacts, StageRun, load_run
from reporting.verdicts import CheckStatus, Verdict, evaluate, exit_code, overall_status

__all__ = [
    "CheckStatus",
    "ReportPaths",
    "Run",
    "RunFacts",
    "StageRun",
    "Verdict",
    "build_summary",
    "evaluate",
    "exit_code",
    "load_run",
    "overall_status",
    "read_exceptions",
    "read_failures",
    "read_stage_table",
    "read_stats",
    "read_stats_history",
    "render_console",
    "render_html",
    "summary_line",
    "write_report",
]
