"""The terminal verdict: the demo run against a golden file, widths and summary lines."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from reporting import (
    CheckStatus,
    Run,
    Verdict,
    analyse,
    compare,
    evaluate,
    render_console,
    summary_line,
)

Golden = Callable[[str, str], None]


def verdict(status: CheckStatus) -> Verdict:
    return Verdict(
        threshold="p95_ms < 1000",
        metric="p95_ms",
        op="below",
        limit=1000.0,
        stage="Peak",
        endpoint="total",
        measured=None if status == "no_data" else 10.0,
        status=status,
    )


def test_demo_console_matches_golden(demo_run: Run, golden: Golden) -> None:
    golden("console_demo.txt", render_console(demo_run, evaluate(demo_run)))


def test_demo_console_wide_matches_golden(demo_run: Run, golden: Golden) -> None:
    text = render_console(demo_run, evaluate(demo_run), width=140)
    golden("console_demo_wide.txt", text)


@pytest.mark.parametrize("width", [100, 80], ids=["default", "narrow"])
def test_console_lines_fit_the_width(demo_run: Run, width: int) -> None:
    text = render_console(demo_run, evaluate(demo_run), width=width)
    assert max(len(line) for line in text.splitlines()) <= width


def test_console_names_failing_endpoint_and_threshold(demo_run: Run) -> None:
    lines = render_console(demo_run, evaluate(demo_run)).splitlines()
    heavy_post = [line for line in lines if "Heavy  post_message" in line]
    assert heavy_post == [
        "FAIL         availability_pct >= 99.9  Heavy  post_message (POST .../messages)"
        "  measured   94.80"
    ]
    assert lines[-1] == (
        "FAIL: 5 of 73 checks failed; 1 inconclusive; 21 with insufficient data"
    )


def test_console_lists_findings_and_comparison(demo_run: Run) -> None:
    text = render_console(
        demo_run,
        evaluate(demo_run),
        analysis=analyse(demo_run),
        comparison=compare(demo_run, [demo_run]),
    )
    lines = text.splitlines()
    start = lines.index("FINDINGS")
    assert lines[start : start + 4] == [
        "FINDINGS",
        "critical  5xx server errors: 15",
        "warning   Long latency tail on post_message",
        "warning   connection errors: 2",
    ]
    assert "COMPARED WITH run_demo: 0 regressed, 0 improved, 24 same" in lines


@pytest.mark.parametrize(
    ("statuses", "line"),
    [
        pytest.param(["pass"] * 12, "PASS: 12 checks passed", id="pass"),
        pytest.param(["pass"], "PASS: 1 check passed", id="pass-one"),
        pytest.param(
            ["fail"] * 3 + ["pass"] * 45, "FAIL: 3 of 48 checks failed", id="fail"
        ),
        pytest.param(["fail"], "FAIL: 1 of 1 check failed", id="fail-one"),
        pytest.param(
            ["pass"] * 2 + ["no_data"] * 2,
            "PASS: 2 checks passed; 2 without data",
            id="no-data",
        ),
        pytest.param([], "PASS: no thresholds to check", id="no-thresholds"),
        pytest.param(
            ["no_data", "insufficient_data"],
            "INCONCLUSIVE: none of 2 checks could be decided; 1 with insufficient "
            "data; 1 without data",
            id="nothing-decided",
        ),
        pytest.param(
            ["pass", "inconclusive", "insufficient_data", "insufficient_data"],
            "PASS: 1 check passed; 1 inconclusive; 2 with insufficient data",
            id="caveats",
        ),
        pytest.param(
            ["fail", "inconclusive"],
            "FAIL: 1 of 2 checks failed; 1 inconclusive",
            id="fail-and-inconclusive",
        ),
    ],
)
def test_summary_line(statuses: list[CheckStatus], line: str) -> None:
    assert summary_line([verdict(status) for status in statuses]) == line


def test_console_of_a_broken_run(
    make_run: Callable[..., Run], row: Callable[..., dict[str, Any]]
) -> None:
    run = make_run(
        [row("Light", "list_rooms", mean_ms=700.0), row("Light", "total")],
        [{"metric": "mean_ms", "op": "below", "limit": 500}],
        ran=["Light"],
    )
    broken = replace(
        run, facts=replace(run.facts, fatal_error="target refused\nconnections")
    )
    text = render_console(broken, evaluate(broken))

    assert text.splitlines() == [
        "loadgate unit against http://127.0.0.1:9: 1 of 4 stages ran, stopped early",
        "fatal error: target refused connections",
        "",
        "THRESHOLD      STATUS  FAILED  WORST   WHERE",
        "mean_ms < 500  FAIL    1/8     700.00  Light / list_rooms",
        "",
        "FAIL mean_ms < 500  Light  list_rooms (GET /api/list_rooms)  measured 700.00",
        "",
        "FAIL: 1 of 8 checks failed; 6 without data",
    ]
