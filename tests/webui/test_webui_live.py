"""The web UI's live verdicts, from stage-table rows, in plain Python (no Locust)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from loadgate.scenarios import Scenario, Stage, Threshold, WaitTime
from locustfiles._webui import LiveCheck, StageTimes, live_checks, stage_state

T0 = 1_000_000.0


def scenario(*thresholds: Threshold, min_samples: int = 10) -> Scenario:
    return Scenario(
        name="live",
        description="two stages",
        stages=(Stage("Light", 5, 5.0, 10.0), Stage("Peak", 10, 10.0, 20.0)),
        wait_time=WaitTime(0.1, 0.2),
        thresholds=thresholds,
        endpoints={},
        min_samples=min_samples,
    )


def row(stage: int, endpoint: str, requests: int, **values: Any) -> dict[str, Any]:
    """One row as the recorder's stage_rows() gives it (empty string: no value)."""
    columns = ("mean_ms", "max_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms")
    return {
        "stage_index": stage,
        "endpoint": endpoint,
        "requests": requests,
        "failures": values.pop("failures", 0),
        **dict.fromkeys(columns, ""),
        **values,
    }


P95 = Threshold("p95_ms", "below", 1000.0)


def only(checks: list[LiveCheck], stage: str) -> LiveCheck:
    (check,) = [c for c in checks if c.stage == stage]
    return check


@pytest.mark.parametrize(
    ("rows", "verdict", "detail"),
    [
        pytest.param(
            [row(0, "get_me", 50, p95_ms=120), row(0, "total", 80, p95_ms=300)],
            "passing",
            "total 300",
            id="passing-names-the-endpoint-nearest-the-limit",
        ),
        pytest.param(
            [row(0, "get_me", 50, p95_ms=1200), row(0, "total", 80, p95_ms=300)],
            "failing",
            "get_me 1,200",
            id="failing-names-the-failing-endpoint",
        ),
        pytest.param(
            [row(0, "total", 80, p95_ms=1000)],
            "inconclusive",
            "total 995 to 1,050",
            id="inconclusive-inside-the-bucket-band",
        ),
        pytest.param(
            [row(0, "total", 4, p95_ms=1500)],
            "pending",
            "4 of 10 requests needed",
            id="pending-below-min-samples-even-when-over-the-limit",
        ),
        pytest.param([], "pending", "no requests yet", id="pending-without-requests"),
        pytest.param(
            [row(0, "cognito:AdminInitiateAuth", 50, p95_ms=5000)],
            "pending",
            "no requests yet",
            id="cognito-rows-are-never-judged",
        ),
    ],
)
def test_a_running_stage_is_judged_on_its_numbers_so_far(
    rows: list[dict[str, Any]], verdict: str, detail: str
) -> None:
    times = [StageTimes(T0), StageTimes()]

    checks = live_checks(scenario(P95), times, rows, T0 + 4.2)

    light = only(checks, "Light")
    assert (light.verdict, light.detail) == (verdict, detail)
    assert light.state == "running, 6 s left"
    assert only(checks, "Peak").verdict == "pending"
    assert only(checks, "Peak").detail == "stage not started"


@pytest.mark.parametrize(
    ("threshold", "requests", "failures", "elapsed", "verdict", "detail"),
    [
        pytest.param(
            Threshold("throughput_rps", "at_least", 10.0),
            50,
            0,
            4.0,
            "passing",
            "total 12.5",
            id="throughput-counts-up-to-now",
        ),
        pytest.param(
            Threshold("throughput_rpm", "at_least", 1000.0),
            50,
            0,
            4.0,
            "failing",
            "total 750",
            id="throughput-per-minute",
        ),
        pytest.param(
            Threshold("availability_pct", "at_least", 99.0),
            200,
            4,
            4.0,
            "failing",
            "total 98",
            id="availability",
        ),
        pytest.param(
            Threshold("error_rate_pct", "below", 5.0),
            200,
            4,
            4.0,
            "passing",
            "total 2",
            id="error-rate",
        ),
    ],
)
def test_rate_metrics(
    threshold: Threshold,
    requests: int,
    failures: int,
    elapsed: float,
    verdict: str,
    detail: str,
) -> None:
    limited = Threshold(threshold.metric, threshold.op, threshold.limit, (), ("total",))
    rows = [row(0, "total", requests, failures=failures)]

    checks = live_checks(
        scenario(limited), [StageTimes(T0), StageTimes()], rows, T0 + elapsed
    )

    light = only(checks, "Light")
    assert (light.verdict, light.detail, light.requests) == (verdict, detail, requests)


def test_a_threshold_scoped_to_a_stage_has_no_row_in_the_others() -> None:
    peak_only = Threshold("p95_ms", "below", 500.0, ("Peak",))

    checks = live_checks(scenario(P95, peak_only), [StageTimes(), StageTimes()], [], T0)

    assert [(c.stage, c.threshold) for c in checks] == [
        ("Light", "p95_ms < 1000"),
        ("Peak", "p95_ms < 1000"),
        ("Peak", "p95_ms < 500"),
    ]
    assert {c.state for c in checks} == {"waiting"}


def test_a_run_stopped_by_hand_marks_its_last_stage() -> None:
    times = [StageTimes(T0, T0 + 10), StageTimes(T0 + 10, T0 + 13)]
    rows = [row(0, "total", 80, p95_ms=300), row(1, "total", 40, p95_ms=350)]

    checks = live_checks(scenario(P95), times, rows, T0 + 14, over=True)

    assert [(c.stage, c.state, c.verdict) for c in checks] == [
        ("Light", "done", "passing"),
        ("Peak", "stopped early", "passing"),
    ]


@pytest.mark.parametrize(
    ("times", "over", "last", "state"),
    [
        pytest.param(StageTimes(), False, False, "waiting", id="waiting"),
        pytest.param(StageTimes(), True, False, "not run", id="never-reached"),
        pytest.param(StageTimes(T0), False, False, "running, 7 s left", id="running"),
        pytest.param(StageTimes(T0 - 30), False, False, "running, 0 s left", id="late"),
        pytest.param(StageTimes(T0, T0 + 10), True, False, "done", id="done"),
        pytest.param(
            StageTimes(T0, T0 + 4), True, True, "stopped early", id="stopped-early"
        ),
    ],
)
def test_stage_state(times: StageTimes, over: bool, last: bool, state: str) -> None:
    assert stage_state(times, 10.0, T0 + 3.5, over=over, last=last) == state


def test_loading_the_module_imports_neither_locust_nor_pandas() -> None:
    # Every Locust process loads it (headless workers too): it must stay cheap.
    code = (
        "import sys, locustfiles._webui; "
        "print(sorted(m for m in ('locust', 'pandas', 'reporting') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == "[]"
