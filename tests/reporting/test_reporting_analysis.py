"""Findings and recommendations: saturation, tails, errors, generator, target profile."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from loadgate.scenarios import Scenario, Stage, TargetProfile, WaitTime
from reporting import Run, analyse, evaluate, preflight
from reporting.analysis import NO_ISSUES, classify_error, fit_usl

MakeRun = Callable[..., Run]
StageRow = Callable[..., dict[str, Any]]
T0 = 1767261600.0
USERS = {"Light": 10, "Medium": 50, "Heavy": 100, "Peak": 200}
ENDPOINTS = ("list_rooms", "list_messages", "post_message")


def staged_rows(
    row: StageRow,
    rps: Mapping[str, float],
    p95: Mapping[tuple[str, str], float] | None = None,
    **common: Any,
) -> list[dict[str, Any]]:
    """Rows of a four-stage run: each endpoint a third of the stage's rps."""
    rows = []
    for stage, rate in rps.items():
        requests = int(rate * 15)
        for endpoint in ENDPOINTS:
            values = {
                "requests": requests // 3,
                "throughput_rps": rate / 3,
                "p50_ms": 20.0,
                "p95_ms": (p95 or {}).get((stage, endpoint), 40.0),
                "p99_ms": 60.0,
                "p999_ms": 80.0,
                "max_ms": 90.0,
                "mean_ms": 25.0,
                "min_ms": 5.0,
                "p90_ms": 35.0,
            }
            rows.append(row(stage, endpoint, **(values | common)))
        worst = max(r["p95_ms"] for r in rows[-3:])
        rows.append(
            row(
                stage,
                "total",
                requests=requests,
                throughput_rps=rate,
                p50_ms=20.0,
                p95_ms=worst,
                p99_ms=max(60.0, worst),
                p999_ms=max(80.0, worst),
                max_ms=max(90.0, worst),
                mean_ms=25.0,
                min_ms=5.0,
                p90_ms=35.0,
            )
        )
    return rows


LINEAR = {stage: users * 2.0 for stage, users in USERS.items()}


def test_healthy_run_has_no_findings(make_run: MakeRun, row: StageRow) -> None:
    analysis = analyse(make_run(staged_rows(row, LINEAR), []))
    assert analysis.findings == ()
    assert analysis.recommendations == (NO_ISSUES,)
    assert NO_ISSUES == "No issues found: nothing to change."
    fit = analysis.scalability
    assert fit is not None
    assert fit.lam == pytest.approx(2.0, rel=1e-6)
    assert "no limit shows within reach of the tested range" in fit.describe()


def test_knee_names_the_stage_and_endpoint(make_run: MakeRun, row: StageRow) -> None:
    rps = {"Light": 20.0, "Medium": 100.0, "Heavy": 120.0, "Peak": 125.0}
    slow = {("Heavy", "list_messages"): 900.0, ("Peak", "list_messages"): 1800.0}
    analysis = analyse(make_run(staged_rows(row, rps, slow), []))

    (finding,) = analysis.findings
    assert (finding.kind, finding.severity) == ("saturation", "critical")
    assert (finding.stage, finding.endpoint) == ("Heavy", "list_messages")
    assert finding.title == "Saturation at Heavy on list_messages"
    assert finding.detail.startswith(
        "From Medium to Heavy, throughput went from 100.0 to 120.0 req/s while users "
        "went from 50 to 100 (scaling efficiency 0.20; 1 is linear), while "
        "list_messages's p95 rose from 40 to 900 ms. USL fit over 4 stages:"
    )
    assert "throughput peaks at about" in finding.detail
    assert finding.numbers["capacity_rps"] == pytest.approx(
        analysis.scalability.capacity_rps  # type: ignore[union-attr]
    )
    assert analysis.recommendations == (finding.recommendation,)
    assert "list_messages from Heavy on (100 users)" in finding.recommendation


def test_rate_stage_below_target_is_saturation(
    make_run: MakeRun, row: StageRow
) -> None:
    rows = staged_rows(
        row,
        {"Light": 20.0, "Medium": 60.0},
        {("Medium", "post_message"): 700.0},
    )
    for item in rows:
        item["target_rps"] = 20.0 if item["stage"] == "Light" else 100.0
    (finding,) = analyse(make_run(rows, [])).findings
    assert finding.stage == "Medium"
    assert "reached 60.0 req/s of its 100.0 req/s target (60%)" in finding.detail


def test_throughput_still_growing_is_no_knee(make_run: MakeRun, row: StageRow) -> None:
    slow = {("Peak", "list_messages"): 900.0}
    analysis = analyse(make_run(staged_rows(row, LINEAR, slow), []))
    assert [f.kind for f in analysis.findings] == []


def test_long_tail(make_run: MakeRun, row: StageRow) -> None:
    rows = staged_rows(row, LINEAR)
    for item in rows:
        if (item["stage"], item["endpoint"]) == ("Peak", "post_message"):
            item.update(p50_ms=100.0, p99_ms=900.0, p999_ms=950.0, max_ms=990.0)
    (finding,) = analyse(make_run(rows, [])).findings
    assert finding.kind == "tail_latency"
    assert finding.detail == (
        "At Peak, post_message's p99 is 900 ms against a p50 of 100 ms "
        "(9.0x, over 2,000 requests)."
    )


@pytest.mark.parametrize(
    ("method", "error", "key"),
    [
        pytest.param(
            "GET",
            "HTTPError('429 Client Error: Too Many Requests for url: /x')",
            "throttled",
            id="429-httperror",
        ),
        pytest.param(
            "GET", "BadStatusCode('/x', code=429)", "throttled", id="429-code"
        ),
        pytest.param(
            "GET",
            "HTTPError('403 Client Error: Forbidden for url: /x')",
            "auth_denied",
            id="403",
        ),
        pytest.param(
            "GET", "CatchResponseError('Status 401')", "auth_denied", id="401"
        ),
        pytest.param(
            "POST",
            "HTTPError('503 Server Error: Service Unavailable for url: /m')",
            "server",
            id="503",
        ),
        pytest.param("GET", "HTTPError('404 Client Error')", "client", id="404"),
        pytest.param("GET", "ConnectionTimeout('timed out')", "timeout", id="timeout"),
        pytest.param(
            "GET",
            "RemoteDisconnected('Remote end closed connection')",
            "connection",
            id="disconnected",
        ),
        pytest.param(
            "GET",
            "ConnectionResetError(104, 'Connection reset by peer')",
            "connection",
            id="reset",
        ),
        pytest.param(
            "cognito", "AuthError('NotAuthorizedException')", "cognito", id="cognito"
        ),
        pytest.param("GET", "ValueError('bad json')", "other", id="other"),
    ],
)
def test_classify_error(method: str, error: str, key: str) -> None:
    assert classify_error(method, error).key == key


def test_throttling_and_cognito_failures_are_kept_apart(
    make_run: MakeRun, row: StageRow
) -> None:
    failures = [
        [
            "GET",
            "/api/list_rooms",
            "HTTPError('429 Client Error: Too Many Requests')",
            40,
            "2026-01-01T10:00:31Z",
            "2026-01-01T10:00:59Z",
        ],
        [
            "cognito",
            "AdminInitiateAuth",
            "AuthError('TooManyRequestsException')",
            3,
            "2026-01-01T10:00:02Z",
            "2026-01-01T10:00:03Z",
        ],
    ]
    analysis = analyse(make_run(staged_rows(row, LINEAR), [], failures=failures))

    by_kind = {finding.kind: finding for finding in analysis.findings}
    assert set(by_kind) == {"errors", "auth"}
    throttled = by_kind["errors"]
    assert throttled.title == "429 throttling: 40"
    assert throttled.detail.startswith(
        "40 429 throttling (0.37% of 10,800 API requests) on GET /api/list_rooms, "
        "first at 10:00:31 UTC in Heavy. Likely cause: API Gateway's rate or burst "
        "limit"
    )
    assert "throttling limit" in throttled.recommendation
    assert by_kind["auth"].title == "Cognito sign-in throttled: 3"
    assert "(0." not in by_kind["auth"].detail
    assert len(analysis.recommendations) == 2


COGNITO_THROTTLED = [
    "cognito",
    "AdminInitiateAuth",
    "AuthError('TooManyRequestsException')",
    12,
    "2026-01-01T10:00:02Z",
    "2026-01-01T10:00:04Z",
]


def test_retried_cognito_throttling_is_a_warning_about_the_sign_in_rate(
    make_run: MakeRun, row: StageRow
) -> None:
    run = make_run(staged_rows(row, LINEAR), [], failures=[COGNITO_THROTTLED])

    (finding,) = analyse(run).findings

    assert (finding.kind, finding.severity, finding.title) == (
        "auth",
        "warning",
        "Cognito sign-in throttled: 12",
    )
    assert finding.detail == (
        "Cognito throttled 12 sign-in attempts (TooManyRequestsException) on "
        "AdminInitiateAuth, first at 10:00:02 UTC. Every one was retried and no "
        "sign-in failed for good, so the API figures stand; the retries only delayed "
        "users' start."
    )
    assert finding.recommendation == (
        "Cognito throttled 12 sign-in attempts (all retried): lower "
        "auth.sign_in_rate, or raise the account's Cognito sign-in quota."
    )


GAVE_UP = (
    "AuthError(\"Cognito kept answering sign-in for test user 'u1' with "
    "TooManyRequestsException after 5 attempts; lower auth.sign_in_rate (50/s) or "
    "raise the account's quota\")"
)


@pytest.mark.parametrize(
    ("failures", "extra"),
    [
        pytest.param(
            [[*COGNITO_THROTTLED[:2], GAVE_UP, *COGNITO_THROTTLED[3:]]],
            {},
            id="retries-ran-out",
        ),
        pytest.param(
            [
                COGNITO_THROTTLED,
                [
                    *COGNITO_THROTTLED[:2],
                    "AuthError('NotAuthorizedException')",
                    *COGNITO_THROTTLED[3:],
                ],
            ],
            {},
            id="wrong-password-too",
        ),
        pytest.param(
            [COGNITO_THROTTLED],
            {"fatal_error": "Cognito refused sign-in for test user 'u1'"},
            id="fatal-error",
        ),
    ],
)
def test_real_cognito_sign_in_failures_stay_critical(
    make_run: MakeRun,
    row: StageRow,
    failures: list[list[object]],
    extra: dict[str, Any],
) -> None:
    run = make_run(staged_rows(row, LINEAR), [], failures=failures, extra=extra)

    auth = [f for f in analyse(run).findings if f.kind == "auth"]

    count = sum(int(str(f[3])) for f in failures)
    assert [(f.severity, f.title) for f in auth] == [
        ("critical", f"Cognito sign-in: {count}")
    ]
    assert auth[0].recommendation.startswith("Fix the test users' sign-in")


def test_hot_generator_makes_figures_suspect(make_run: MakeRun, row: StageRow) -> None:
    warnings = [
        {"worker": "local", "at": T0 + 50, "percent": 97.0},
        {"worker": "local", "at": T0 + 55, "percent": 91.5},
    ]
    run = make_run(staged_rows(row, LINEAR), [], extra={"cpu_warnings": warnings})
    (finding,) = analyse(run).findings
    assert (finding.kind, finding.severity, finding.stage) == (
        "generator",
        "critical",
        "Peak",
    )
    assert finding.detail.startswith(
        "2 CPU sample(s) at or above 90 % on local; the highest, 97 % on local, at "
        "10:00:50 UTC in Peak. Latency and throughput measured from then on are suspect"
    )


def test_late_sends_in_a_rate_stage(make_run: MakeRun, row: StageRow) -> None:
    rows = staged_rows(row, {"Light": 20.0, "Medium": 100.0})
    for item in rows:
        item["target_rps"] = item["throughput_rps"] * (
            3 if item["endpoint"] != "total" else 1
        )
        if item["endpoint"] == "total" and item["stage"] == "Medium":
            item.update(late_sends=150, co_p95_ms=2400.0, target_rps=125.0)
    (finding,) = analyse(make_run(rows, [])).findings
    assert (finding.kind, finding.stage) == ("generator", "Medium")
    assert finding.detail == (
        "150 of 1,500 sends in Medium (10.0%) started late; the stage reached 100.0 "
        "of its target 125.0 req/s (80%); p95 from the intended send time is "
        "2,400 ms against 40 ms measured from the actual send."
    )


def test_waf_limit_explains_403s(make_run: MakeRun, row: StageRow) -> None:
    failures = [
        [
            "GET",
            "/api/list_rooms",
            "HTTPError('403 Client Error: Forbidden')",
            300,
            "2026-01-01T10:00:40Z",
            "2026-01-01T10:00:59Z",
        ],
    ]
    profile = {"waf": {"limit": 2000, "window_s": 300}, "generator_ips": 1}
    run = make_run(
        staged_rows(row, LINEAR),
        [],
        failures=failures,
        extra={"target_profile": profile},
    )
    analysis = analyse(run)

    # (20 + 100 + 200) req/s x 15 s by the end of Heavy; Medium ends at 1,800.
    crossing = "Heavy: one generator IP sent 4,800 requests within 300 s, over the WAF "
    crossing += "rate-based rule's limit of 2,000"
    (waf,) = [c for c in analysis.crossings if c.limit == "waf"]
    assert waf.text == crossing
    errors = next(f for f in analysis.findings if f.kind == "errors")
    assert errors.detail.endswith(f"The target profile explains it: {crossing}.")
    profile_finding = next(f for f in analysis.findings if f.kind == "target_profile")
    assert "WAF" in profile_finding.recommendation


def test_fit_usl_recovers_a_known_curve() -> None:
    def usl(n: float) -> float:
        return 3.0 * n / (1 + 0.05 * (n - 1) + 0.0002 * n * (n - 1))

    fit = fit_usl([(n, usl(n)) for n in (1, 10, 50, 100, 200)])
    assert fit is not None
    assert (fit.lam, fit.sigma, fit.kappa) == pytest.approx((3.0, 0.05, 0.0002))
    assert fit.peak_users == pytest.approx((0.95 / 0.0002) ** 0.5)
    assert fit.r_squared == pytest.approx(1.0)
    assert fit_usl([(10, 5.0), (20, 9.0)]) is None


def scenario(users: int, rate: float | None = None) -> Scenario:
    return Scenario(
        name="s",
        description="",
        stages=(
            Stage("Light", 10, 10.0, 60.0),
            Stage("Peak", users, 50.0, 600.0, rate_per_s=rate),
        ),
        wait_time=WaitTime(1.0, 3.0),
        thresholds=(),
        endpoints={},
    )


def test_preflight_warns_about_limits_the_plan_passes() -> None:
    profile = TargetProfile(
        api_rate_rps=100.0, api_burst=150.0, waf_limit=2000.0, lambda_concurrency=50.0
    )
    # 200 users thinking 2 s on average send at most 100 requests/s: at the limit.
    assert preflight(scenario(200), profile) == [
        "up to: Peak: one generator IP sent 30,000 requests within 300 s, over the WAF "
        "rate-based rule's limit of 2,000",
        "up to: Peak kept about 200 requests in flight (rate x mean latency), over "
        "Lambda's reserved concurrency of 50",
        "Peak runs 200 users, more than API Gateway's burst of 150 if they send at once",
    ]
    assert preflight(scenario(20, rate=5.0), profile) == []
    assert preflight(scenario(200), TargetProfile()) == []


AVAILABILITY = {"metric": "availability_pct", "op": "at_least", "limit": 99.0}


@pytest.mark.parametrize(
    ("failing", "recommendation"),
    [
        pytest.param(
            {("Heavy", "post_message")},
            "No bottleneck finding explains the failed thresholds: see the verdict "
            "table (availability_pct >= 99 failed on Heavy/post_message).",
            id="one-check",
        ),
        pytest.param(
            {(stage, "list_rooms") for stage in USERS},
            "No bottleneck finding explains the failed thresholds: see the verdict "
            "table (availability_pct >= 99 failed on Light/list_rooms, "
            "Medium/list_rooms, Heavy/list_rooms and 1 more).",
            id="four-checks",
        ),
    ],
)
def test_failed_run_without_findings_does_not_say_nothing_is_wrong(
    make_run: MakeRun,
    row: StageRow,
    failing: set[tuple[str, str]],
    recommendation: str,
) -> None:
    rows = staged_rows(row, LINEAR)
    for each in rows:
        if (each["stage"], each["endpoint"]) in failing:
            each["failures"] = each["requests"] // 20
    thresholds = [AVAILABILITY | {"endpoints": list(ENDPOINTS)}]
    run = make_run(rows, thresholds)

    judged = analyse(run, evaluate(run))

    assert judged.findings == ()
    assert judged.recommendations == (recommendation,)
    assert analyse(run).recommendations == (recommendation,)


def test_passing_run_with_thresholds_has_no_issues(
    make_run: MakeRun, row: StageRow
) -> None:
    run = make_run(staged_rows(row, LINEAR), [AVAILABILITY])
    assert {v.status for v in evaluate(run)} == {"pass"}
    assert analyse(run).recommendations == (NO_ISSUES,)
