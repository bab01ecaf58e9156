"""The public surface of reporting, and its promise never to import locust."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import reporting

ROOT = Path(__file__).resolve().parents[2]


def test_exported_names() -> None:
    assert sorted(reporting.__all__) == [
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
    assert all(hasattr(reporting, name) for name in reporting.__all__)


def test_reporting_never_imports_locust() -> None:
    code = (
        "import sys, reporting, reporting.console, reporting.report, reporting.charts; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_template_and_schema_are_package_data() -> None:
    package = Path(reporting.__file__).parent
    assert (package / "templates" / "report.html.j2").is_file()
    assert (package / "schema" / "summary.schema.json").is_file()
