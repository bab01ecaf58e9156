"""summary.json and report.html: content, escaping, self-containment and write errors."""

from __future__ import annotations

import csv
import json
import logging
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from reporting_helpers import stopped_copy

from loadgate.errors import ReportError
from reporting import (
    Run,
    build_summary,
    evaluate,
    load_run,
    overall_status,
    render_html,
    write_report,
)

HOSTILE = "<script>alert(\"x\")</script>'q'&"
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;q&#39;&amp;"


def reject_nan(value: str) -> Any:
    raise ValueError(f"summary.json holds {value}")


@pytest.fixture(scope="module")
def summary(demo_run: Run) -> dict[str, Any]:
    return build_summary(demo_run, evaluate(demo_run))


@pytest.fixture(scope="module")
def html(demo_run: Run) -> str:
    return render_html(demo_run, evaluate(demo_run))


def test_summary_top_level(summary: dict[str, Any]) -> None:
    assert list(summary) == [
        "schema_version",
        "status",
        "stopped_early",
        "checks",
        "run",
        "settings",
        "precision",
        "thresholds",
        "verdicts",
        "stages",
        "endpoints",
        "findings",
        "recommendations",
        "scalability",
        "errors",
        "comparison",
    ]
    assert (summary["schema_version"], summary["status"]) == (2, "fail")
    assert summary["stopped_early"] is False
    assert summary["checks"] == {
        "fail": 5,
        "inconclusive": 1,
        "insufficient_data": 21,
        "no_data": 0,
        "pass": 46,
    }


def test_summary_run_facts_without_thresholds(summary: dict[str, Any]) -> None:
    run = summary["run"]
    assert "thresholds" not in run
    assert {key: run[key] for key in ("run_id", "scenario", "host", "duration_s")} == {
        "run_id": "run_demo",
        "scenario": "demo",
        "host": "http://127.0.0.1:8080",
        "duration_s": 61.0,
    }
    assert run["stages"][0] == {
        "name": "Light",
        "users": 10,
        "spawn_rate": 10.0,
        "duration_s": 15.0,
        "start": 1767261600.2,
        "end": 1767261615.2,
    }


def test_summary_thresholds_and_verdicts(summary: dict[str, Any]) -> None:
    assert summary["thresholds"][3] == {
        "metric": "throughput_rpm",
        "op": "at_least",
        "limit": 10000.0,
        "stages": ["Peak"],
        "endpoints": ["total"],
        "label": "throughput_rpm >= 10000",
        "status": "pass",
        "checks": {
            "fail": 0,
            "inconclusive": 0,
            "insufficient_data": 0,
            "no_data": 0,
            "pass": 1,
        },
        "worst": summary["verdicts"][-1],
    }
    assert summary["thresholds"][1]["status"] == "inconclusive"
    assert len(summary["verdicts"]) == 73
    assert sum(v["status"] == "fail" for v in summary["verdicts"]) == 5
    assert summary["verdicts"][0] == {
        "threshold": "mean_ms < 500",
        "metric": "mean_ms",
        "op": "below",
        "limit": 500.0,
        "stage": "Light",
        "endpoint": "health",
        "measured": 3.36,
        "measured_low": 3.36,
        "measured_high": 3.36,
        "samples": 10,
        "status": "insufficient_data",
    }


def test_summary_stage_rows(summary: dict[str, Any]) -> None:
    stages = summary["stages"]
    assert [stage["name"] for stage in stages] == ["Light", "Medium", "Heavy", "Peak"]
    assert (stages[2]["start"], stages[2]["end"]) == (1767261630.2, 1767261645.2)

    heavy = {row["endpoint"]: row for row in stages[2]["rows"]}
    assert list(heavy) == [
        "health",
        "list_rooms",
        "get_me",
        "list_messages",
        "post_message",
        "cognito:admin_initiate_auth",
        "total",
    ]
    post = heavy["post_message"]
    assert (post["method"], post["name"]) == (
        "POST",
        "/api/v1/rooms/{room_id}/messages",
    )
    assert (post["requests"], post["failures"]) == (250, 13)
    assert post["availability_pct"] == 94.8
    assert post["error_rate_pct"] == pytest.approx(5.2)
    assert (post["p95_ms"], post["p99_ms"], post["max_ms"]) == (350.0, 460.0, 623.61)
    assert post["throughput_rpm"] == pytest.approx(16.6667 * 60)


def test_summary_endpoints_from_locust_stats(summary: dict[str, Any]) -> None:
    endpoints = summary["endpoints"]
    assert [row["endpoint"] for row in endpoints] == [
        "list_rooms",
        "list_messages",
        "post_message",
        "get_me",
        "health",
        "cognito:admin_initiate_auth",
        "total",
    ]
    post = endpoints[2]
    assert list(post) == [
        "endpoint",
        "method",
        "name",
        "requests",
        "failures",
        "availability_pct",
        "mean_ms",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "rps",
    ]
    assert (post["requests"], post["failures"]) == (750, 15)
    assert post["availability_pct"] == 98.0
    assert (post["p50_ms"], post["p95_ms"], post["p99_ms"]) == (200.0, 600.0, 1500.0)
    assert endpoints[-1]["requests"] == 4815


def test_write_report_files(
    demo_run: Run, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "new" / "report"
    with caplog.at_level(logging.INFO, logger="reporting.report"):
        paths = write_report(demo_run, evaluate(demo_run), out)

    assert (paths.summary_json, paths.report_html) == (
        out / "summary.json",
        out / "report.html",
    )
    written = json.loads(paths.summary_json.read_text(), parse_constant=reject_nan)
    assert written == build_summary(demo_run, evaluate(demo_run))
    assert paths.report_html.read_text().startswith("<!DOCTYPE html>")
    assert caplog.messages == [
        f"report written: {paths.summary_json} and {paths.report_html}"
    ]


def test_summary_of_a_stage_without_requests_holds_no_nan(
    run_dir: Path, tmp_path: Path
) -> None:
    table = run_dir / "loadgate_stages.csv"
    lines = table.read_text().splitlines(keepends=True)
    light_total = "0,Light,1767261600.200,1767261615.200,total,,Aggregated,"
    kept = [line for line in lines if ",Light," not in line]
    kept.insert(1, light_total + "0,0,,,,,,,,,0.0\n")
    table.write_text("".join(kept))

    run = load_run(run_dir)
    paths = write_report(run, evaluate(run), tmp_path / "out")
    written = json.loads(paths.summary_json.read_text(), parse_constant=reject_nan)
    (light_row,) = written["stages"][0]["rows"]
    assert light_row["requests"] == 0
    assert light_row["availability_pct"] is None
    assert light_row["p95_ms"] is None


def test_write_error_names_the_path(demo_run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("a file, not a directory")
    with pytest.raises(ReportError) as caught:
        write_report(demo_run, evaluate(demo_run), blocker)
    assert str(caught.value) == (
        f"{blocker}: cannot create the report directory (File exists)"
    )


def test_html_banner_and_sections(html: str) -> None:
    assert '<header class="banner fail">' in html
    assert "<h1>FAIL</h1>" in html
    assert "Scenario <strong>demo</strong>" in html
    assert "<strong>http://127.0.0.1:8080</strong>" in html
    assert "5 of 73 checks failed; 1 inconclusive; 21 with insufficient data." in html
    for stage in ("Light", "Medium", "Heavy", "Peak"):
        assert f"<h3>{stage}</h3>" in html
    headings = re.findall(r"<h2>([^<]+)</h2>", html)
    assert headings == [
        "Verdicts",
        "Stages",
        "Whole run, per endpoint",
        "Charts",
        "Findings and recommendations",
        "Errors",
        "Run",
    ]


def test_html_banner_of_a_stopped_run_says_so(tmp_path: Path, html: str) -> None:
    run = load_run(stopped_copy(tmp_path / "run"))
    stopped = render_html(run, evaluate(run))

    banner = stopped[stopped.index("<header") : stopped.index("</header>")]
    assert banner.startswith('<header class="banner pass stopped">')
    assert "<h1>PASS (stopped early)</h1>" in banner
    assert (
        "<p><strong>The run stopped early:</strong> ran Light and 5.6 s of Medium; "
        "Heavy, Peak never ran. Only the stages that\n"
    ) in banner
    assert "<title>loadgate PASS (stopped early): demo (run)</title>" in stopped
    assert (
        "<dt>Stopped early</dt><dd>yes: ran Light and 5.6 s of Medium; Heavy, Peak "
        "never ran</dd>"
    ) in stopped
    assert "stopped" not in html[html.index("<header") : html.index("</header>")]
    assert "<dt>Stopped early</dt><dd>no</dd>" in html


def test_html_of_plain_locust_csvs_names_the_files_not_found(
    run_dir: Path, demo_run: Run
) -> None:
    (run_dir / "run.json").unlink()
    (run_dir / "loadgate_failures.csv").unlink()
    run = replace(load_run(run_dir), thresholds=demo_run.thresholds)
    verdicts = evaluate(run)

    html = render_html(run, verdicts)

    assert overall_status(verdicts) == "fail"
    assert "Not found, so read as empty: loadgate_failures.csv." in html
    assert "No failures file: loadgate_failures.csv was not found" in html
    assert "No failed requests." not in html
    assert (
        "<dt>Files not found</dt><dd>loadgate_failures.csv (read as empty tables)</dd>"
    ) in html


def test_html_verdict_table_lists_failures_first(html: str) -> None:
    start = html.index('<table class="verdicts">')
    table = html[start : html.index("</table>", start)]
    classes = re.findall(r'<tr class="(\w+)">', table)
    assert len(classes) == 73
    assert classes[:6] == ["fail"] * 5 + ["inconclusive"]
    assert classes[6:27] == ["insufficient_data"] * 21
    assert set(classes[27:]) == {"pass"}
    first = table.index('<tr class="inconclusive">')
    row = table[first : table.index("</tr>", first)]
    assert "<td>p95_ms &lt; 1000</td>" in row
    assert "<td>Peak</td>" in row
    assert "(POST /api/v1/rooms/{room_id}/messages)" in row
    assert '1,000 ms        <span class="band">(995&ndash;1,050)</span>' in row


def test_html_is_self_contained(html: str) -> None:
    for reference in ("<script", "<link", "@import", "url(", "http-equiv"):
        assert reference not in html
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 5
    assert all(src.startswith("data:image/svg+xml;base64,") for src in sources)


def test_html_escapes_strings_from_csvs(run_dir: Path) -> None:
    rewrite_cells(run_dir / "loadgate_stages.csv", {"/api/v1/rooms": HOSTILE})
    rewrite_cells(run_dir / "loadgate_stats.csv", {"/api/v1/rooms": HOSTILE})
    rewrite_cells(
        run_dir / "loadgate_failures.csv",
        {
            "RemoteDisconnected('Remote end closed connection without response')": HOSTILE
        },
    )
    run = load_run(run_dir)

    html = render_html(run, evaluate(run))

    assert "<script" not in html
    assert 'alert("x")' not in html
    # 12 list_rooms verdicts (3 thresholds x 4 stages), 4 stage tables, the
    # whole-run table and the failures table.
    assert html.count(ESCAPED) == 12 + 4 + 1 + 1


def rewrite_cells(path: Path, replacements: dict[str, str]) -> None:
    """Replace whole cells of a CSV file, quoting them properly."""
    with path.open(newline="", encoding="utf-8") as source:
        rows = list(csv.reader(source))
    with path.open("w", newline="", encoding="utf-8") as target:
        csv.writer(target).writerows(
            [[replacements.get(cell, cell) for cell in row] for row in rows]
        )
