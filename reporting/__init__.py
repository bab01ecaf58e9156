"""reporting: read a run (or any Locust run's CSVs), judge it, explain it, report it.

Plain Python, pandas and matplotlib, never locust, so that it runs fast anywhere (CI
included). The command line does it all in one call::

    made = generate(Path("results/20260101-100000"), baselines=[Path("results/old")])
    print(render_console(made.run, made.verdicts, analysis=made.analysis), end="")
    sys.exit(exit_code(made.verdicts))

or step by step::

    run = load_run(Path("results/20260101-100000"))   # or a Locust --csv prefix
    verdicts = evaluate(run)
    analysis = analyse(run)
    write_report(run, verdicts, run.run_dir, analysis=analysis)

Modules: :mod:`reporting.run` (the run directory or Locust CSV prefix),
:mod:`reporting.readers` (Locust CSVs of any version, normalised),
:mod:`reporting.precision` (what a bucketed percentile can stand for),
:mod:`reporting.verdicts` (thresholds to verdicts and the exit code),
:mod:`reporting.analysis` (findings and recommendations), :mod:`reporting.target`
(production limits), :mod:`reporting.compare` (baseline comparison),
:mod:`reporting.charts` (matplotlib SVG charts), :mod:`reporting.ci` (``junit.xml``
and ``summary.md``), :mod:`reporting.report` (``summary.json``, ``report.html`` and
:func:`generate`) and :mod:`reporting.console` (the terminal verdict).
"""

from __future__ import annotations

from reporting.analysis import Analysis, Finding, analyse
from reporting.ci import junit_xml, summary_markdown
from reporting.compare import Comparison, Tolerance, compare
from reporting.console import render_console, summary_line
from reporting.precision import percentile_band
from reporting.readers import (
    read_distribution,
    read_exceptions,
    read_failures,
    read_stage_table,
    read_stats,
    read_stats_history,
)
from reporting.report import (
    Generated,
    ReportPaths,
    build_summary,
    generate,
    render_html,
    write_report,
)
from reporting.run import (
    Run,
    RunFacts,
    RunSettings,
    StageRun,
    load_locust_csvs,
    load_run,
    with_scenario_settings,
)
from reporting.target import preflight
from reporting.verdicts import (
    CheckStatus,
    Verdict,
    evaluate,
    exit_code,
    overall_status,
    status_counts,
)

__all__ = [
    "Analysis",
    "CheckStatus",
    "Comparison",
    "Finding",
    "Generated",
    "ReportPaths",
    "Run",
    "RunFacts",
    "RunSettings",
    "StageRun",
    "Tolerance",
    "Verdict",
    "analyse",
    "build_summary",
    "compare",
    "evaluate",
    "exit_code",
    "generate",
    "junit_xml",
    "load_locust_csvs",
    "load_run",
    "overall_status",
    "percentile_band",
    "preflight",
    "read_distribution",
    "read_exceptions",
    "read_failures",
    "read_stage_table",
    "read_stats",
    "read_stats_history",
    "render_console",
    "render_html",
    "status_counts",
    "summary_line",
    "summary_markdown",
    "with_scenario_settings",
    "write_report",
]
