"""The public surface of reporting, and its promise never to import locust."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import reporting

ROOT = Path(__file__).resolve().parents[2]


def test_exported_names() -> None:
    assert sorted(reporting.__all__) == [
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
    assert all(hasattr(reporting, name) for name in reporting.__all__)


def test_reporting_never_imports_locust() -> None:
    code = (
        "import sys, reporting, reporting.console, reporting.report; "
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


def test_template_is_package_data() -> None:
    template = Path(reporting.__file__).parent / "templates" / "report.html.j2"
    assert template.is_file()
