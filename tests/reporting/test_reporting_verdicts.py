"""Thresholds to verdicts: limits, precision, sample counts, scope, Cognito rows, exit code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import pytest

from loadgate.errors import EXIT_OK, EXIT_THRESHOLD_FAILED
from loadgate.scenarios import METRICS
from reporting import (
    CheckStatus,
    Run,
    Verdict,
    evaluate,
    exit_code,
    overall_status,
    percentile_band,
    status_counts,
)
from reporting.verdicts import threshold_status

MakeRun = Callable[..., Run]
StageRow = Callable[..., dict[str, Any]]


def threshold(metric: str, op: str, limit: float, **scope: list[str]) -> dict[str, Any]:
    return {"metric": metric, "op": op, "limit": limit, **scope}


@pytest.mark.parametrize(
    ("op", "limit", "mean", "status"),
    [
        pytest.param("below", 1000, 999.9, "pass", id="below-under-limit"),
        pytest.param("below", 1000, 1000.0, "fail", id="below-at-limit"),
        pytest.param("below", 1000, 1000.1, "fail", id="below-over-limit"),
        pytest.param("at_least", 400, 399.9, "fail", id="at-least-under-limit"),
        pytest.param("at_least", 400, 400.0, "pass", id="at-least-at-limit"),
        pytest.param("at_least", 400, 400.1, "pass", id="at-least-over-limit"),
    ],
)
def test_limit_edges_of_an_exact_metric(
    make_run: MakeRun,
    row: StageRow,
    op: Literal["below", "at_least"],
    limit: float,
    mean: float,
    status: CheckStatus,
) -> None:
    run = make_run(
        [row("Light", "total", mean_ms=mean)],
        [threshold("mean_ms", op, limit, stages=["Light"])],
    )
    assert evaluate(run) == [
        Verdict(
            threshold=f"mean_ms {'<' if op == 'below' else '>='} {limit:g}",
            metric="mean_ms",
            op=op,
            limit=float(limit),
            stage="Light",
            endpoint="total",
            measured=mean,
            status=status,
            samples=1000,
            low=mean,
            high=mean,
        )
    ]


@pytest.mark.parametrize(
    ("value", "band"),
    [
        pytest.param(42.0, (42.0, 42.0), id="exact-below-100"),
        pytest.param(99.0, (99.0, 99.0), id="99-exact"),
        pytest.param(100.0, (100.0, 105.0), id="100-first-bucket"),
        pytest.param(150.0, (145.0, 155.0), id="10ms-buckets"),
        pytest.param(990.0, (985.0, 995.0), id="last-10ms-bucket"),
        pytest.param(1000.0, (995.0, 1050.0), id="1s-power-of-ten"),
        pytest.param(3400.0, (3350.0, 3450.0), id="100ms-buckets"),
        pytest.param(10000.0, (9950.0, 10500.0), id="10s-power-of-ten"),
        pytest.param(59000.0, (58500.0, 59500.0), id="1s-buckets"),
    ],
)
def test_percentile_band(value: float, band: tuple[float, float]) -> None:
    assert percentile_band(value) == band


@pytest.mark.parametrize(
    ("op", "limit", "p95", "status"),
    [
        pytest.param("below", 1000, 990.0, "pass", id="below-band-under-limit"),
        pytest.param("below", 1000, 1000.0, "inconclusive", id="below-limit-in-band"),
        pytest.param(
            "below", 1020, 1000.0, "inconclusive", id="below-limit-above-value"
        ),
        pytest.param("below", 1000, 1100.0, "fail", id="below-band-over-limit"),
        pytest.param("below", 150, 150.0, "inconclusive", id="below-10ms-bucket"),
        pytest.param("below", 80, 80.0, "fail", id="below-exact-at-limit"),
        pytest.param("at_least", 400, 400.0, "inconclusive", id="at-least-in-band"),
        pytest.param("at_least", 400, 410.0, "pass", id="at-least-band-above"),
        pytest.param("at_least", 400, 390.0, "fail", id="at-least-band-below"),
    ],
)
def test_percentile_limit_inside_precision_is_inconclusive(
    make_run: MakeRun,
    row: StageRow,
    op: Literal["below", "at_least"],
    limit: float,
    p95: float,
    status: CheckStatus,
) -> None:
    run = make_run(
        [row("Light", "total", p95_ms=p95)],
        [threshold("p95_ms", op, limit, stages=["Light"])],
    )
    (verdict,) = evaluate(run)
    assert (verdict.measured, verdict.status) == (p95, status)
    assert (verdict.low, verdict.high) == percentile_band(p95)


@pytest.mark.parametrize(
    ("requests", "mean", "status"),
    [
        pytest.param(99, 100.0, "insufficient_data", id="99-would-pass"),
        pytest.param(99, 900.0, "insufficient_data", id="99-would-fail"),
        pytest.param(100, 100.0, "pass", id="100-passes"),
        pytest.param(100, 900.0, "fail", id="100-fails"),
    ],
)
def test_too_few_samples_is_insufficient_data(
    make_run: MakeRun, row: StageRow, requests: int, mean: float, status: str
) -> None:
    run = make_run(
        [row("Light", "total", requests=requests, mean_ms=mean)],
        [threshold("mean_ms", "below", 500, stages=["Light"])],
    )
    (verdict,) = evaluate(run)
    assert (verdict.samples, verdict.measured, verdict.status) == (
        requests,
        mean,
        status,
    )


def test_min_samples_comes_from_run_json(make_run: MakeRun, row: StageRow) -> None:
    run = make_run(
        [row("Light", "total", requests=30)],
        [threshold("mean_ms", "below", 500, stages=["Light"])],
        extra={"min_samples": 20},
    )
    assert run.settings.min_samples == 20
    assert [v.status for v in evaluate(run)] == ["pass"]


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        pytest.param(["pass", "fail", "inconclusive"], "fail", id="any-fail"),
        pytest.param(["pass", "inconclusive"], "inconclusive", id="inconclusive"),
        pytest.param(["pass", "insufficient_data"], "pass", id="pass-with-few"),
        pytest.param(["insufficient_data", "no_data"], "insufficient_data", id="few"),
        pytest.param(["no_data"], "no_data", id="none"),
    ],
)
def test_threshold_status(statuses: list[CheckStatus], expected: str) -> None:
    group = [
        Verdict("t", "mean_ms", "below", 1.0, "Light", "total", 0.0, status)
        for status in statuses
    ]
    assert threshold_status(group) == expected


@pytest.mark.parametrize(
    ("failures", "status"),
    [
        pytest.param(0, "pass", id="none-failed"),
        pytest.param(1, "pass", id="one-in-1000-is-exactly-99.9"),
        pytest.param(2, "fail", id="two-in-1000"),
    ],
)
def test_availability_at_the_limit(
    make_run: MakeRun, row: StageRow, failures: int, status: str
) -> None:
    run = make_run(
        [row("Light", "total", requests=1000, failures=failures)],
        [threshold("availability_pct", "at_least", 99.9, stages=["Light"])],
    )
    (verdict,) = evaluate(run)
    assert verdict.measured == 100.0 * (1000 - failures) / 1000
    assert verdict.status == status


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        pytest.param("mean_ms", 100.0, id="mean"),
        pytest.param("p50_ms", 90.0, id="p50"),
        pytest.param("p90_ms", 300.0, id="p90"),
        pytest.param("p95_ms", 400.0, id="p95"),
        pytest.param("p99_ms", 700.0, id="p99"),
        pytest.param("max_ms", 900.0, id="max"),
        pytest.param("availability_pct", 94.8, id="availability"),
        pytest.param("error_rate_pct", 5.2, id="error-rate"),
        pytest.param("throughput_rps", 250 / 15, id="rps"),
        pytest.param("throughput_rpm", 250 / 15 * 60, id="rpm"),
    ],
)
def test_every_metric_is_measured(
    make_run: MakeRun, row: StageRow, metric: str, expected: float
) -> None:
    run = make_run(
        [
            row(
                "Heavy",
                "post_message",
                requests=250,
                failures=13,
                throughput_rps=250 / 15,
            ),
            row("Heavy", "total", requests=250, failures=13),
        ],
        [threshold(metric, "below", 1e9, stages=["Heavy"], endpoints=["post_message"])],
    )
    (verdict,) = evaluate(run)
    assert verdict.measured == pytest.approx(expected)


def test_metric_cases_cover_every_metric() -> None:
    ids = {"mean_ms", "p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"}
    ids |= {"availability_pct", "error_rate_pct", "throughput_rps", "throughput_rpm"}
    assert ids == set(METRICS)


@pytest.fixture
def two_stage_run(make_run: MakeRun, row: StageRow) -> MakeRun:
    """A run of Light and Peak with two endpoints and a Cognito row each."""

    def make(*thresholds: dict[str, Any]) -> Run:
        rows = [
            row(stage, endpoint, p95_ms=p95)
            for stage, factor in (("Light", 1), ("Peak", 3))
            for endpoint, p95 in (
                ("list_rooms", 200.0 * factor),
                ("post_message", 350.0 * factor),
                ("cognito:admin_initiate_auth", 5000.0),
                ("total", 300.0 * factor),
            )
        ]
        return make_run(rows, thresholds, ran=("Light", "Peak"))

    return make


def where(verdicts: list[Verdict]) -> list[tuple[str, str, str]]:
    return [(v.stage, v.endpoint, v.status) for v in verdicts]


def test_unscoped_threshold_checks_every_stage_and_endpoint(
    two_stage_run: MakeRun,
) -> None:
    verdicts = evaluate(two_stage_run(threshold("p95_ms", "below", 1000)))
    assert where(verdicts) == [
        ("Light", "list_rooms", "pass"),
        ("Light", "post_message", "pass"),
        ("Light", "total", "pass"),
        ("Medium", "list_rooms", "no_data"),
        ("Medium", "post_message", "no_data"),
        ("Medium", "total", "no_data"),
        ("Heavy", "list_rooms", "no_data"),
        ("Heavy", "post_message", "no_data"),
        ("Heavy", "total", "no_data"),
        ("Peak", "list_rooms", "pass"),
        ("Peak", "post_message", "fail"),
        ("Peak", "total", "pass"),
    ]
    assert all(v.measured is None for v in verdicts if v.status == "no_data")


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param(
            {"stages": ["Peak"]},
            [
                ("Peak", "list_rooms", "pass"),
                ("Peak", "post_message", "fail"),
                ("Peak", "total", "pass"),
            ],
            id="stage",
        ),
        pytest.param(
            {"endpoints": ["total"]},
            [
                ("Light", "total", "pass"),
                ("Medium", "total", "no_data"),
                ("Heavy", "total", "no_data"),
                ("Peak", "total", "pass"),
            ],
            id="total",
        ),
        pytest.param(
            {"stages": ["Light", "Peak"], "endpoints": ["post_message"]},
            [("Light", "post_message", "pass"), ("Peak", "post_message", "fail")],
            id="stage-and-endpoint",
        ),
        pytest.param(
            {"stages": ["Peak"], "endpoints": ["get_me"]},
            [("Peak", "get_me", "no_data")],
            id="endpoint-without-rows",
        ),
        pytest.param(
            {"endpoints": ["cognito:admin_initiate_auth"]},
            [],
            id="cognito-never-checked",
        ),
    ],
)
def test_threshold_scope(
    two_stage_run: MakeRun,
    scope: dict[str, list[str]],
    expected: list[tuple[str, str, str]],
) -> None:
    verdicts = evaluate(two_stage_run(threshold("p95_ms", "below", 1000, **scope)))
    assert where(verdicts) == expected


def test_cognito_rows_are_skipped(two_stage_run: MakeRun) -> None:
    verdicts = evaluate(two_stage_run(threshold("p95_ms", "below", 1)))
    assert verdicts
    assert not [v for v in verdicts if v.endpoint.startswith("cognito:")]


def test_zero_requests_is_no_data(make_run: MakeRun, row: StageRow) -> None:
    run = make_run(
        [
            row("Light", "list_rooms", requests=0),
            row("Light", "total", requests=0),
        ],
        [
            threshold("throughput_rps", "at_least", 1, stages=["Light"]),
            threshold("availability_pct", "at_least", 99, stages=["Light"]),
        ],
    )
    assert [(v.metric, v.endpoint, v.measured, v.status) for v in evaluate(run)] == [
        ("throughput_rps", "list_rooms", None, "no_data"),
        ("throughput_rps", "total", None, "no_data"),
        ("availability_pct", "list_rooms", None, "no_data"),
        ("availability_pct", "total", None, "no_data"),
    ]


def test_demo_run_verdicts(demo_run: Run) -> None:
    verdicts = evaluate(demo_run)

    assert len(verdicts) == 3 * 4 * 6 + 1
    failed = [
        (v.threshold, v.stage, v.endpoint) for v in verdicts if v.status == "fail"
    ]
    inconclusive = [
        (v.threshold, v.stage, v.endpoint, v.low, v.high)
        for v in verdicts
        if v.status == "inconclusive"
    ]
    assert inconclusive == [("p95_ms < 1000", "Peak", "post_message", 995.0, 1050.0)]
    # Light has 145 requests over 5 endpoints; health has 95 even at Heavy.
    few = {(v.stage, v.endpoint) for v in verdicts if v.status == "insufficient_data"}
    assert few == {
        ("Light", "health"),
        ("Light", "list_rooms"),
        ("Light", "get_me"),
        ("Light", "list_messages"),
        ("Light", "post_message"),
        ("Medium", "health"),
        ("Heavy", "health"),
    }
    assert status_counts(verdicts) == {
        "fail": 5,
        "inconclusive": 1,
        "insufficient_data": 21,
        "no_data": 0,
        "pass": 46,
    }
    assert failed == [
        ("availability_pct >= 99.9", "Heavy", "list_messages"),
        ("availability_pct >= 99.9", "Heavy", "post_message"),
        ("availability_pct >= 99.9", "Heavy", "total"),
        ("availability_pct >= 99.9", "Peak", "post_message"),
        ("availability_pct >= 99.9", "Peak", "total"),
    ]
    rpm = verdicts[-1]
    assert (rpm.stage, rpm.endpoint, rpm.status) == ("Peak", "total", "pass")
    assert rpm.measured == pytest.approx(2660 / 15 * 60, rel=1e-4)
    heavy_post = next(
        v
        for v in verdicts
        if (v.metric, v.stage, v.endpoint)
        == ("availability_pct", "Heavy", "post_message")
    )
    assert heavy_post.measured == 94.8


def test_overall_status_and_exit_code(
    demo_run: Run, make_run: MakeRun, row: StageRow
) -> None:
    failing = evaluate(demo_run)
    assert (overall_status(failing), exit_code(failing)) == (
        "fail",
        EXIT_THRESHOLD_FAILED,
    )

    passing = evaluate(
        make_run([row("Light", "total")], [threshold("mean_ms", "below", 500)])
    )
    assert [v.status for v in passing] == ["pass", "no_data", "no_data", "no_data"]
    few = evaluate(
        make_run(
            [row("Light", "total", requests=5, mean_ms=900.0)],
            [threshold("mean_ms", "below", 500)],
        )
    )
    assert few[0].status == "insufficient_data"
    # Nothing decided at all: a gate must not pass on no evidence.
    assert (overall_status(few), exit_code(few)) == (
        "inconclusive",
        EXIT_THRESHOLD_FAILED,
    )
    assert (overall_status(passing), exit_code(passing)) == ("pass", EXIT_OK)
    assert (overall_status([]), exit_code([])) == ("pass", EXIT_OK)


def test_verdict_to_dict(make_run: MakeRun, row: StageRow) -> None:
    run = make_run([row("Light", "total")], [threshold("mean_ms", "below", 500)])
    assert evaluate(run)[0].to_dict() == {
        "threshold": "mean_ms < 500",
        "metric": "mean_ms",
        "op": "below",
        "limit": 500.0,
        "stage": "Light",
        "endpoint": "total",
        "measured": 100.0,
        "measured_low": 100.0,
        "measured_high": 100.0,
        "samples": 1000,
        "status": "pass",
    }
