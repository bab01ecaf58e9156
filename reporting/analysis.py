"""Find what limited a run and say what to do: findings, each quoting its numbers.

:func:`analyse` looks at a loaded run and returns an :class:`Analysis`:

* **saturation**: the first stage where throughput stopped growing with the users
  (scaling efficiency below :data:`KNEE_EFFICIENCY`, or a rate stage below 90 % of
  its target) while latency rose, naming the endpoint whose p95 rose most; with three
  or more stages, a capacity estimate from the Universal Scalability Law fitted to
  throughput against users;
* **tail latency**: endpoints whose p99 is many times their p50, by a margin that
  matters;
* **errors**, one finding per class (401/403, 429, 5xx, other 4xx, timeouts,
  connection errors), with its likely cause; Cognito sign-in failures apart;
* **load generator**: CPU above 90 % on any process, or sends that missed their time;
* **target profile**: a stage that passed a production limit (see
  :mod:`reporting.target`), tied to the errors it explains;
* **APDEX** below :data:`APDEX_POOR` for an endpoint with enough samples.

Every recommendation follows from a finding; a run without findings gets the single
recommendation :data:`NO_ISSUES` when it passed, or, when thresholds failed, one
saying that no finding explains them and naming them (:data:`UNEXPLAINED_FAILURES`):
a FAIL verdict is never beside "nothing to change".
"""

from __future__ import annotations

import itertools
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from loadgate.scenarios import TOTAL
from reporting import _frames
from reporting.run import LostWorker, Run
from reporting.target import Crossing, StageLoad, crossings
from reporting.verdicts import Verdict, evaluate

__all__ = [
    "APDEX_POOR",
    "KNEE_EFFICIENCY",
    "NO_ISSUES",
    "UNEXPLAINED_FAILURES",
    "Analysis",
    "ErrorClass",
    "Finding",
    "ScalabilityFit",
    "analyse",
    "apdex_table",
    "classify_error",
    "fit_usl",
]

logger = logging.getLogger(__name__)

Severity = Literal["critical", "warning", "info"]

NO_ISSUES = "No issues found: nothing to change."
"""The only recommendation of a run without findings whose thresholds did not fail."""
UNEXPLAINED_FAILURES = (
    "No bottleneck finding explains the failed thresholds: see the verdict table "
    "({failed})."
)
"""The only recommendation of a run without findings whose thresholds failed."""

KNEE_EFFICIENCY = 0.5
"""Scaling efficiency below which throughput counts as no longer growing with users.

Efficiency is the throughput gained per user added, relative to linear scaling:
``(X2 / X1 - 1) / (N2 / N1 - 1)``; 1 is linear, 0 flat, below 0 falling."""

LATENCY_RISE = 1.5
"""A p95 at least this many times the previous stage's counts as rising ..."""

LATENCY_RISE_MS = 20.0
"""... if it also rose by at least this many milliseconds."""

TAIL_RATIO = 5.0
"""A p99 this many times the p50 is a long tail ..."""

TAIL_MARGIN_MS = 250.0
"""... when the gap between them is at least this many milliseconds."""

APDEX_POOR = 0.7
"""APDEX below this (``poor`` and ``unacceptable``) is a finding."""

CPU_SUSPECT_PCT = 90.0
"""Generator CPU at or above this makes the figures suspect."""

LATE_SHARE = 0.01

OUTAGE_MIN_ERRORS = 10
"""Connection errors needed before their window is reported as the target down..."""

OUTAGE_MIN_RATE = 1.0
"""...and how many a second they must come at."""
"""Share of late sends in a rate stage above which the schedule was not kept."""

_APDEX_RATINGS = (
    (0.94, "excellent"),
    (0.85, "good"),
    (0.70, "fair"),
    (0.50, "poor"),
    (0.0, "unacceptable"),
)


@dataclass(frozen=True)
class Finding:
    """One thing the run shows, with the numbers that show it.

    Attributes:
        kind: ``saturation``, ``tail_latency``, ``errors``, ``auth``, ``generator``,
            ``target_profile``, ``apdex`` or ``outage``.
        severity: ``critical`` (the verdict is at stake), ``warning`` or ``info``.
        title: One line naming what and where.
        detail: Sentences quoting the measured values.
        recommendation: What to do about it.
        stage: The stage it is about, if one.
        endpoint: The endpoint it is about, if one.
        numbers: The values quoted, for ``summary.json``.
    """

    kind: str
    severity: Severity
    title: str
    detail: str
    recommendation: str
    stage: str | None = None
    endpoint: str | None = None
    numbers: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as JSON-ready data."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "recommendation": self.recommendation,
            "stage": self.stage,
            "endpoint": self.endpoint,
            "numbers": {
                key: _frames.plain(value) for key, value in self.numbers.items()
            },
        }


@dataclass(frozen=True)
class ErrorClass:
    """What kind of failure an error message is, and what usually causes it.

    Attributes:
        key: ``auth_denied``, ``throttled``, ``server``, ``client``, ``timeout``,
            ``connection``, ``cognito`` or ``other``.
        label: Short name, e.g. ``429 throttling``.
        cause: The likely cause.
    """

    key: str
    label: str
    cause: str


@dataclass(frozen=True)
class ScalabilityFit:
    """The Universal Scalability Law fitted to throughput against users.

    ``X(N) = lam * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))``: ``lam`` is
    one user's throughput, ``sigma`` the cost of contention (queueing for a shared
    resource), ``kappa`` the cost of coherency (work that grows with every pair).

    Attributes:
        lam: Throughput of one user, requests per second.
        sigma: Contention.
        kappa: Coherency.
        r_squared: How well the curve fits the stages (1 is exact).
        points: The stages as ``(users, requests per second)``.
    """

    lam: float
    sigma: float
    kappa: float
    r_squared: float
    points: tuple[tuple[float, float], ...]

    def throughput(self, users: float) -> float:
        """Return the throughput the model predicts for a number of users."""
        denominator = 1 + self.sigma * (users - 1) + self.kappa * users * (users - 1)
        return self.lam * users / denominator

    @property
    def peak_users(self) -> float | None:
        """Users at which throughput peaks, or None if it never turns down."""
        if self.kappa <= 0 or self.sigma >= 1:
            return None
        return math.sqrt((1 - self.sigma) / self.kappa)

    @property
    def capacity_rps(self) -> float | None:
        """The most throughput the model allows, or None if it grows without bound."""
        if self.peak_users is not None:
            return self.throughput(self.peak_users)
        if self.sigma > 0:
            return self.lam / self.sigma
        return None

    def describe(self) -> str:
        """Say what the fit predicts, with its parameters."""
        fit = (
            f"USL fit over {len(self.points)} stages: one user {self.lam:.2f} req/s, "
            f"contention {self.sigma:.3g}, coherency {self.kappa:.3g}, "
            f"R\N{SUPERSCRIPT TWO} {self.r_squared:.2f}"
        )
        if self.peak_users is not None and self.capacity_rps is not None:
            return (
                f"{fit}; throughput peaks at about {self.capacity_rps:,.0f} req/s "
                f"near {self.peak_users:,.0f} users"
            )
        highest = max(rps for _, rps in self.points)
        if self.capacity_rps is not None and self.capacity_rps < 5 * highest:
            return (
                f"{fit}; throughput levels off towards {self.capacity_rps:,.0f} req/s"
            )
        return f"{fit}; no limit shows within reach of the tested range"

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as JSON-ready data."""
        return {
            "model": "usl",
            "lambda_rps": self.lam,
            "sigma": self.sigma,
            "kappa": self.kappa,
            "r_squared": self.r_squared,
            "peak_users": self.peak_users,
            "capacity_rps": self.capacity_rps,
            "points": [list(point) for point in self.points],
        }


@dataclass(frozen=True)
class Analysis:
    """Everything :func:`analyse` found in a run.

    Attributes:
        findings: Most severe first.
        recommendations: One per distinct advice, in the order of the findings; just
            :data:`NO_ISSUES` when there are no findings.
        apdex: APDEX per stage x endpoint (see :func:`apdex_table`).
        scalability: The USL fit, when at least three think-time stages have data.
        errors: Locust's failures with their class, label, cause and stage.
        loads: Each stage's measured load, as related to the target profile.
        crossings: Production limits the run's load passed.
    """

    findings: tuple[Finding, ...]
    recommendations: tuple[str, ...]
    apdex: pd.DataFrame
    scalability: ScalabilityFit | None
    errors: pd.DataFrame
    loads: tuple[StageLoad, ...]
    crossings: tuple[Crossing, ...]


def analyse(run: Run, verdicts: Sequence[Verdict] | None = None) -> Analysis:
    """Look at a run for bottlenecks, errors and suspect figures.

    Args:
        run: The loaded run.
        verdicts: Its checks, if already judged (else they are judged here); only
            needed to tell a failed run without findings from a healthy one.

    Returns:
        The findings, the recommendations that follow from them, and the tables
        behind them.
    """
    totals = _stage_totals(run)
    loads = _stage_loads(run, totals)
    found_crossings = crossings(loads, run.settings.target_profile)
    errors = error_table(run)
    fit = _scalability(totals)
    apdex = apdex_table(run)

    findings = [
        *_saturation(run, totals, fit),
        *_tail_latency(run),
        *_error_findings(run, errors, found_crossings),
        *_outages(run, errors),
        *_generator(run),
        *_profile_findings(found_crossings),
        *_apdex_findings(apdex, run.settings.min_samples),
    ]
    order = {"critical": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda finding: order[finding.severity])
    recommendations = list(dict.fromkeys(f.recommendation for f in findings))
    logger.info(
        "run analysed: %s findings, %s recommendations",
        len(findings),
        len(recommendations),
    )
    return Analysis(
        findings=tuple(findings),
        recommendations=tuple(recommendations or [_no_findings(run, verdicts)]),
        apdex=apdex,
        scalability=fit,
        errors=errors,
        loads=tuple(loads),
        crossings=tuple(found_crossings),
    )


def _no_findings(run: Run, verdicts: Sequence[Verdict] | None) -> str:
    """The recommendation of a run without findings: none, unless thresholds failed."""
    checks = evaluate(run) if verdicts is None else verdicts
    failing = [v for v in checks if v.status == "fail"]
    if not failing:
        return NO_ISSUES
    by_threshold: dict[str, list[Verdict]] = {}
    for verdict in failing:
        by_threshold.setdefault(verdict.threshold, []).append(verdict)
    failed = "; ".join(
        f"{label} failed on "
        + ", ".join(f"{v.stage}/{v.endpoint}" for v in group[:3])
        + (f" and {len(group) - 3} more" if len(group) > 3 else "")
        for label, group in by_threshold.items()
    )
    return UNEXPLAINED_FAILURES.format(failed=failed)


# Stage totals and the scalability model.


def _stage_totals(run: Run) -> pd.DataFrame:
    """Return the ``total`` row of every stage that ran with requests, in order."""
    metrics = _frames.stage_metrics(run.stage_stats)
    totals = metrics[(metrics["endpoint"] == TOTAL) & (metrics["requests"] > 0)]
    order = {stage.name: stage.index for stage in run.stages}
    totals = totals.assign(order=totals["stage"].map(order)).sort_values("order")
    return totals.reset_index(drop=True)


def fit_usl(points: Sequence[tuple[float, float]]) -> ScalabilityFit | None:
    """Fit the Universal Scalability Law to ``(users, throughput)`` points.

    ``N / X(N) = (1 + sigma (N - 1) + kappa N (N - 1)) / lam`` is linear in its three
    coefficients, so it is solved by least squares; a coefficient that comes out
    negative (no contention, or no coherency cost) is held at 0 and the rest refitted.

    Args:
        points: At least three stages with distinct user counts and throughput > 0.

    Returns:
        The fit, or None with fewer than three usable points.
    """
    usable = sorted({(n, x) for n, x in points if n > 0 and x > 0})
    if len({n for n, _ in usable}) < 3:
        return None
    users = np.array([n for n, _ in usable], dtype="float64")
    rps = np.array([x for _, x in usable], dtype="float64")
    columns = {
        "base": np.ones_like(users),
        "sigma": users - 1,
        "kappa": users * (users - 1),
    }
    kept = ["base", "sigma", "kappa"]
    while True:
        design = np.column_stack([columns[name] for name in kept])
        solved, *_ = np.linalg.lstsq(design, users / rps, rcond=None)
        coefficients = dict(zip(kept, solved, strict=True))
        negative = [name for name in kept[1:] if coefficients[name] < 0]
        if not negative or coefficients["base"] <= 0:
            break
        kept.remove(negative[-1])
    base = float(coefficients["base"])
    if base <= 0:
        return None

    fit = ScalabilityFit(
        lam=1 / base,
        sigma=float(coefficients.get("sigma", 0.0)) / base,
        kappa=float(coefficients.get("kappa", 0.0)) / base,
        r_squared=0.0,
        points=tuple((float(n), float(x)) for n, x in usable),
    )
    predicted = np.array([fit.throughput(n) for n in users])
    spread = float(((rps - rps.mean()) ** 2).sum())
    residual = float(((rps - predicted) ** 2).sum())
    r_squared = 1.0 - residual / spread if spread > 0 else 1.0
    return ScalabilityFit(fit.lam, fit.sigma, fit.kappa, r_squared, fit.points)


def _scalability(totals: pd.DataFrame) -> ScalabilityFit | None:
    """Fit the USL to the think-time stages (a rate stage's throughput is set)."""
    closed = totals[totals["target_rps"].isna() & totals["users"].notna()]
    points = list(zip(closed["users"], closed["throughput_rps"], strict=True))
    return fit_usl([(float(n), float(x)) for n, x in points])


# Findings.


def _saturation(
    run: Run, totals: pd.DataFrame, fit: ScalabilityFit | None
) -> list[Finding]:
    """Find the first stage where throughput stopped following the load."""
    for before, after in itertools.pairwise(_records(totals)):
        stalled = _stalled(before, after)
        if stalled is None:
            continue
        culprit = _slowest_rise(run, str(before["stage"]), str(after["stage"]))
        if culprit is None and not _rose(before["p95_ms"], after["p95_ms"]):
            continue
        return [_knee_finding(before, after, stalled, culprit, fit)]
    return []


def _stalled(before: Mapping[str, Any], after: Mapping[str, Any]) -> str | None:
    """Say how throughput failed to follow the load from one stage to the next."""
    target = after["target_rps"]
    if not math.isnan(target) and target > 0:
        if after["throughput_rps"] < 0.9 * target:
            return (
                f"reached {after['throughput_rps']:,.1f} req/s of its "
                f"{target:,.1f} req/s target ({after['throughput_rps'] / target:.0%})"
            )
        return None
    users_before, users_after = before["users"], after["users"]
    if math.isnan(users_before) or users_after <= users_before * 1.05:
        return None
    efficiency = (after["throughput_rps"] / before["throughput_rps"] - 1) / (
        users_after / users_before - 1
    )
    if efficiency >= KNEE_EFFICIENCY:
        return None
    return (
        f"went from {before['throughput_rps']:,.1f} to {after['throughput_rps']:,.1f} "
        f"req/s while users went from {users_before:,.0f} to {users_after:,.0f} "
        f"(scaling efficiency {efficiency:.2f}; 1 is linear)"
    )


def _rose(before: float, after: float) -> bool:
    """Whether a latency rose by :data:`LATENCY_RISE` and :data:`LATENCY_RISE_MS`."""
    if math.isnan(before) or math.isnan(after):
        return False
    return after >= before * LATENCY_RISE and after - before >= LATENCY_RISE_MS


def _slowest_rise(run: Run, before: str, after: str) -> dict[str, Any] | None:
    """Return the endpoint whose p95 rose most between two stages, if any rose."""
    metrics = _frames.stage_metrics(run.stage_stats)
    api = metrics[metrics["checked"] & (metrics["endpoint"] != TOTAL)]
    old = api[api["stage"] == before].set_index("endpoint")["p95_ms"]
    new = api[api["stage"] == after].set_index("endpoint")
    new = new[new["requests"] > 0]
    best: dict[str, Any] | None = None
    for endpoint, row in new.iterrows():
        previous = float(old.get(endpoint, math.nan))
        current = float(row["p95_ms"])
        if not _rose(previous, current):
            continue
        ratio = current / previous if previous > 0 else math.inf
        if best is None or (ratio, current) > (best["ratio"], best["p95"]):
            best = {"endpoint": str(endpoint), "before": previous, "p95": current}
            best["ratio"] = ratio
    return best


def _knee_finding(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    stalled: str,
    culprit: Mapping[str, Any] | None,
    fit: ScalabilityFit | None,
) -> Finding:
    stage = str(after["stage"])
    detail = f"From {before['stage']} to {stage}, throughput {stalled}"
    if culprit is not None:
        detail += (
            f", while {culprit['endpoint']}'s p95 rose from {culprit['before']:,.0f} "
            f"to {culprit['p95']:,.0f} ms"
        )
    else:
        detail += (
            f", while p95 rose from {before['p95_ms']:,.0f} to "
            f"{after['p95_ms']:,.0f} ms"
        )
    detail += "."
    if fit is not None:
        detail += " " + fit.describe() + "."
    where = culprit["endpoint"] if culprit else None
    numbers: dict[str, Any] = {
        "users_before": before["users"],
        "users": after["users"],
        "rps_before": before["throughput_rps"],
        "rps": after["throughput_rps"],
        "p95_before_ms": culprit["before"] if culprit else before["p95_ms"],
        "p95_ms": culprit["p95"] if culprit else after["p95_ms"],
    }
    if fit is not None and fit.capacity_rps is not None:
        numbers["capacity_rps"] = fit.capacity_rps
    return Finding(
        kind="saturation",
        severity="critical",
        title=f"Saturation at {stage}" + (f" on {where}" if where else ""),
        detail=detail,
        recommendation=(
            f"Find what limits {where or 'the API'} from {stage} on "
            f"({after['users']:,.0f} users): its Lambda duration and throttles, "
            "Aurora CPU, connections and locks; plan capacity below the knee."
        ),
        stage=stage,
        endpoint=where,
        numbers=numbers,
    )


def _tail_latency(run: Run) -> list[Finding]:
    """Endpoints whose p99 is far above their p50, worst stage each."""
    metrics = _frames.stage_metrics(run.stage_stats)
    rows = metrics[
        metrics["checked"]
        & (metrics["endpoint"] != TOTAL)
        & (metrics["requests"] >= run.settings.min_samples)
        & (metrics["p50_ms"] > 0)
    ]
    rows = rows.assign(ratio=rows["p99_ms"] / rows["p50_ms"])
    long_tail = rows[
        (rows["ratio"] >= TAIL_RATIO)
        & (rows["p99_ms"] - rows["p50_ms"] >= TAIL_MARGIN_MS)
    ]
    findings = []
    for endpoint, group in long_tail.groupby("endpoint", sort=False):
        worst = group.iloc[int(np.argmax(group["ratio"].to_numpy()))]
        findings.append(
            Finding(
                kind="tail_latency",
                severity="warning",
                title=f"Long latency tail on {endpoint}",
                detail=(
                    f"At {worst['stage']}, {endpoint}'s p99 is {worst['p99_ms']:,.0f} ms "
                    f"against a p50 of {worst['p50_ms']:,.0f} ms "
                    f"({worst['ratio']:.1f}x, over {int(worst['requests']):,} requests)."
                ),
                recommendation=(
                    f"Look at {endpoint}'s slowest requests: cold starts (provisioned "
                    "concurrency), lock waits, slow queries or retries."
                ),
                stage=str(worst["stage"]),
                endpoint=str(endpoint),
                numbers={
                    "p50_ms": worst["p50_ms"],
                    "p99_ms": worst["p99_ms"],
                    "ratio": worst["ratio"],
                    "requests": worst["requests"],
                },
            )
        )
    return findings


# Errors.

_STATUS = (
    re.compile(r"\b([1-5]\d\d) (?:Client|Server) Error"),
    re.compile(r"\bcode=([1-5]\d\d)\b"),
    re.compile(r"\bstatus(?: code)?[ :=]*([1-5]\d\d)\b", re.IGNORECASE),
    re.compile(r"^\s*([1-5]\d\d)\b"),
)
_TIMEOUT = re.compile(r"time(?:d)?[ _-]?out|Timeout", re.IGNORECASE)
_CONNECTION = re.compile(
    r"Connection(?:Refused|Reset|Aborted)?Error|RemoteDisconnected|BrokenPipe|"
    r"connection (?:refused|reset|closed|aborted)|reset by peer|NewConnectionError|"
    r"gaierror|Name or service not known|EOF occurred|IncompleteRead",
    re.IGNORECASE,
)
_CLASSES = {
    "cognito": ErrorClass(
        "cognito",
        "Cognito sign-in",
        "Cognito refused or throttled the sign-in: wrong test-user password, a "
        "locked or missing user, or the account's sign-in quota",
    ),
    "auth_denied": ErrorClass(
        "auth_denied",
        "401/403 denied",
        "the token was rejected (expired, wrong pool or audience) or a WAF rule "
        "blocked the source IP",
    ),
    "throttled": ErrorClass(
        "throttled",
        "429 throttling",
        "API Gateway's rate or burst limit, a usage plan, or Lambda's reserved "
        "concurrency throttled the requests",
    ),
    "server": ErrorClass(
        "server",
        "5xx server errors",
        "the API failed: a Lambda error or timeout (502/504 behind API Gateway) or "
        "the database refusing work",
    ),
    "client": ErrorClass(
        "client",
        "other 4xx",
        "the API refused the request itself (bad input, missing resource)",
    ),
    "timeout": ErrorClass(
        "timeout",
        "timeouts",
        "no answer within the client's timeout: the API or its database is saturated",
    ),
    "connection": ErrorClass(
        "connection",
        "connection errors",
        "connections refused, reset or closed without an answer: the listener is "
        "overloaded or restarting, or the generator ran out of sockets",
    ),
    "other": ErrorClass("other", "other errors", "see the error messages below"),
}


def classify_error(method: str, error: str) -> ErrorClass:
    """Return the class of one Locust failure.

    Args:
        method: The request type (``cognito`` for sign-ins).
        error: The error text from Locust's failures table.

    Returns:
        The class, with its likely cause.
    """
    if method.strip().lower() == "cognito":
        return _CLASSES["cognito"]
    status = next(
        (
            int(found.group(1))
            for pattern in _STATUS
            if (found := pattern.search(error))
        ),
        None,
    )
    if status in (401, 403):
        return _CLASSES["auth_denied"]
    if status == 429:
        return _CLASSES["throttled"]
    if status is not None and status >= 500:
        return _CLASSES["server"]
    if status is not None and status >= 400:
        return _CLASSES["client"]
    if _TIMEOUT.search(error):
        return _CLASSES["timeout"]
    if _CONNECTION.search(error):
        return _CLASSES["connection"]
    return _CLASSES["other"]


def error_table(run: Run) -> pd.DataFrame:
    """Return Locust's failures with class, label, cause and the stage first seen in.

    Args:
        run: The loaded run.

    Returns:
        The failures (most frequent first) with ``class``, ``label``, ``cause``,
        ``first_at`` (epoch seconds or NaN) and ``stage`` (or empty) added.
    """
    failures = _frames.failure_rows(run.failures)
    classes = [
        classify_error(str(method), str(error))
        for method, error in zip(failures["method"], failures["error"], strict=True)
    ]
    first = (
        failures["first_seen"].map(_epoch)
        if "first_seen" in failures.columns
        else pd.Series(math.nan, index=failures.index, dtype="float64")
    )
    table = failures.copy()
    table["class"] = [c.key for c in classes]
    table["label"] = [c.label for c in classes]
    table["cause"] = [c.cause for c in classes]
    last = (
        failures["last_seen"].map(_epoch)
        if "last_seen" in failures.columns
        else pd.Series(math.nan, index=failures.index, dtype="float64")
    )
    table["first_at"] = first.astype("float64")
    table["last_at"] = last.astype("float64")
    table["stage"] = [_stage_at(run, float(at)) for at in first]
    return table


def _error_findings(
    run: Run, errors: pd.DataFrame, found: Sequence[Crossing]
) -> list[Finding]:
    """One finding per class of error, Cognito sign-ins apart from the API."""
    metrics = _frames.stage_metrics(run.stage_stats)
    api_requests = int(
        metrics.loc[
            metrics["checked"] & (metrics["endpoint"] != TOTAL), "requests"
        ].sum()
    )
    findings = []
    for key, group in errors.groupby("class", sort=False):
        if key == "cognito" and _retried_throttles(run, group):
            findings.append(_sign_in_throttled(group))
        else:
            findings.append(_error_finding(str(key), group, api_requests, found))
    return findings


_COGNITO_THROTTLE = re.compile(
    r"""^\s*(?:\w+\(\s*['"])?(?:TooManyRequestsException|ThrottlingException)"""
    r"""(?:['"]\s*\))?\s*$"""
)
"""A Cognito attempt that was throttled, as recorded (``AuthError('TooMany...')``);
not a sign-in that gave up (``Cognito kept answering ... after 5 attempts``)."""


def _retried_throttles(run: Run, group: pd.DataFrame) -> bool:
    """Whether every Cognito failure was a throttled attempt, and all were retried.

    A throttled attempt is retried; a user whose retries ran out fails with another
    message, or stops the run with a ``fatal_error``.
    """
    return run.facts.fatal_error is None and all(
        _COGNITO_THROTTLE.match(str(error)) for error in group["error"]
    )


def _sign_in_throttled(group: pd.DataFrame) -> Finding:
    """The warning for throttled sign-in attempts that were all retried successfully."""
    count = int(group["occurrences"].sum())
    names = list(dict.fromkeys(str(name) for name in group["name"]))
    detail = (
        f"Cognito throttled {count:,} sign-in attempts (TooManyRequestsException) on "
        f"{', '.join(names[:3])}" + (" and others" if len(names) > 3 else "")
    )
    first = group["first_at"].min()
    if not math.isnan(first):
        detail += f", first at {_clock(first)}"
    detail += (
        ". Every one was retried and no sign-in failed for good, so the API figures "
        "stand; the retries only delayed users' start."
    )
    return Finding(
        kind="auth",
        severity="warning",
        title=f"Cognito sign-in throttled: {count:,}",
        detail=detail,
        recommendation=(
            f"Cognito throttled {count:,} sign-in attempts (all retried): lower "
            "auth.sign_in_rate, or raise the account's Cognito sign-in quota."
        ),
        numbers={"occurrences": count, "first_at": first},
    )


def _error_finding(
    key: str, group: pd.DataFrame, api_requests: int, found: Sequence[Crossing]
) -> Finding:
    error_class = _CLASSES[key]
    count = int(group["occurrences"].sum())
    names = list(
        dict.fromkeys(
            f"{m} {n}".strip()
            for m, n in zip(group["method"], group["name"], strict=True)
        )
    )
    share = count / api_requests if api_requests else math.nan
    detail = f"{count:,} {error_class.label}"
    if key != "cognito" and api_requests:
        detail += f" ({share:.2%} of {api_requests:,} API requests)"
    detail += f" on {', '.join(names[:3])}" + (" and others" if len(names) > 3 else "")
    first = group["first_at"].min()
    if not math.isnan(first):
        stage = next(
            s
            for s, at in zip(group["stage"], group["first_at"], strict=True)
            if at == first
        )
        detail += f", first at {_clock(first)}" + (f" in {stage}" if stage else "")
    detail += f". Likely cause: {error_class.cause}."
    detail += _explained_by(key, found)
    return Finding(
        kind="auth" if key == "cognito" else "errors",
        severity="critical" if key == "cognito" or share >= 0.001 else "warning",
        title=f"{error_class.label}: {count:,}",
        detail=detail,
        recommendation=_ERROR_ADVICE[key],
        endpoint=names[0] if len(names) == 1 else None,
        numbers={"occurrences": count, "share": share, "first_at": first},
    )


_ERROR_ADVICE = {
    "cognito": (
        "Fix the test users' sign-in before trusting the API figures: check their "
        "password and state in the user pool, and Cognito's sign-in quota."
    ),
    "auth_denied": (
        "Check token expiry and refresh in long runs, and whether a WAF rule blocks "
        "the generators: exclude their IPs or raise the rate-based rule for the test."
    ),
    "throttled": (
        "Raise the throttling limit that was hit (API Gateway stage or usage plan, "
        "Lambda reserved concurrency) or keep the load under it; clients should back "
        "off on 429."
    ),
    "server": (
        "Read the Lambda logs and metrics of the failing routes around the first "
        "error: errors, timeouts, throttles, and Aurora connections and CPU."
    ),
    "client": "Check the requests the test sends to the failing routes (IDs, bodies).",
    "timeout": (
        "Find where the time goes on the slowest routes (Lambda duration, database "
        "waits) and compare the client timeout with API Gateway's 29 s limit."
    ),
    "connection": (
        "Check the target's connection limits and idle timeouts, and the generators' "
        "open-file limit; retry only idempotent requests."
    ),
    "other": "Read the error messages in the table below.",
}


def _explained_by(key: str, found: Sequence[Crossing]) -> str:
    """Name the production limit that explains an error class, if one was passed."""
    limits = {"auth_denied": ("waf",), "throttled": ("api_rate", "lambda")}
    related = [c for c in found if c.limit in limits.get(key, ())]
    if key == "server":
        related = [c for c in found if c.limit == "aurora"]
    return "".join(f" The target profile explains it: {c.text}." for c in related)


def _generator(run: Run) -> list[Finding]:
    """Generator processes that ran hot, and rate stages that fell behind schedule."""
    findings = []
    hot = [w for w in run.facts.cpu_warnings if w.percent >= CPU_SUSPECT_PCT]
    if hot:
        worst = max(hot, key=lambda warning: warning.percent)
        workers = sorted({w.worker for w in hot})
        stage = _stage_at(run, worst.at)
        findings.append(
            Finding(
                kind="generator",
                severity="critical",
                title="Load generator CPU above 90 %",
                detail=(
                    f"{len(hot)} CPU sample(s) at or above {CPU_SUSPECT_PCT:.0f} % on "
                    f"{', '.join(workers)}; the highest, {worst.percent:.0f} % on "
                    f"{worst.worker}, at {_clock(worst.at)}"
                    + (f" in {stage}" if stage else "")
                    + ". Latency and throughput measured from then on are suspect: "
                    "the generator, not the API, may be the bottleneck."
                ),
                recommendation=(
                    "Run more Locust workers (or on more machines) so that none passes "
                    "90 % CPU, then run again before trusting the figures."
                ),
                stage=stage or None,
                numbers={"samples": len(hot), "max_percent": worst.percent},
            )
        )
    findings += _late_sends(run)
    findings += [_lost_worker(run, lost) for lost in run.facts.lost_workers]
    return findings


def _lost_worker(run: Run, lost: LostWorker) -> Finding:
    """A worker lost mid-run: the run is degraded from then on."""
    stage = _stage_at(run, lost.at)
    return Finding(
        kind="generator",
        severity="warning",
        title=f"Run degraded: worker {lost.worker} lost",
        detail=(
            f"Worker {lost.worker} was found lost at {_clock(lost.at)} (Locust marks a "
            "worker missing after about 4 s without a heartbeat, and drops one that "
            "quits at once)"
            + (f" in {stage}" if stage else "")
            + f", while it ran {lost.users} users ({lost.share_pct:.0f} % of all). "
            "What it had reported is in the figures; Locust started its users again on "
            "the other workers (--enable-rebalancing), so the load dipped for a few "
            "seconds and the remaining generators carried more."
        ),
        recommendation=(
            "Find why the worker died (its log, memory, the network to the master) "
            "and run again before trusting the stages after it was lost."
        ),
        stage=stage or None,
        numbers={"at": lost.at, "users": lost.users, "share_pct": lost.share_pct},
    )


def _outages(run: Run, errors: pd.DataFrame) -> list[Finding]:
    """Windows where the target refused or dropped connections: it was down."""
    refused = errors[errors["class"] == "connection"] if not errors.empty else errors
    if refused.empty or refused["last_at"].isna().all():
        return []
    start = float(refused["first_at"].min())
    end = float(refused["last_at"].max())
    count = int(refused["occurrences"].sum())
    # A few stray disconnects are an error class, not an outage.
    if count < OUTAGE_MIN_ERRORS or count / max(end - start, 1.0) < OUTAGE_MIN_RATE:
        return []
    stages = list(
        dict.fromkeys(s for s in (_stage_at(run, start), _stage_at(run, end)) if s)
    )
    return [
        Finding(
            kind="outage",
            severity="critical",
            title=(
                f"Target unreachable from {_clock(start)} to {_clock(end)} "
                f"({end - start:.0f} s)"
            ),
            detail=(
                f"{count:,} requests got no connection or no answer between "
                f"{_clock(start)} and {_clock(end)}"
                + (f" ({' to '.join(stages)})" if stages else "")
                + "; the run went on and the stage figures include those failures."
            ),
            recommendation=(
                "Check what took the API down in that window (deployments, health "
                "checks, the load balancer's and Lambda's logs) before judging the "
                "stages it spans."
            ),
            stage=stages[0] if stages else None,
            numbers={"start": start, "end": end, "occurrences": count},
        )
    ]


def _late_sends(run: Run) -> list[Finding]:
    """Rate stages whose generator could not send on schedule."""
    table = run.stage_stats
    totals = table[(table["endpoint"] == TOTAL) & table["late_sends"].notna()]
    findings = []
    for row in _records(totals):
        late, requests = float(row["late_sends"]), float(row["requests"])
        if requests <= 0 or late / requests <= LATE_SHARE:
            continue
        corrected = row.get("co_p95_ms", math.nan)
        target, reached = float(row["target_rps"]), float(row["throughput_rps"])
        findings.append(
            Finding(
                kind="generator",
                severity="warning",
                title=f"Sends behind schedule at {row['stage']}",
                detail=(
                    f"{late:,.0f} of {requests:,.0f} sends in {row['stage']} "
                    f"({late / requests:.1%}) started late; the stage reached "
                    f"{reached:,.1f} of its target {target:,.1f} req/s "
                    f"({reached / target:.0%}); p95 from the intended send time is "
                    f"{corrected:,.0f} ms against {row['p95_ms']:,.0f} ms measured "
                    "from the actual send."
                ),
                recommendation=(
                    "Give the rate stages more users or workers so every send can "
                    "start on time; judge latency by the corrected figures meanwhile."
                ),
                stage=str(row["stage"]),
                numbers={
                    "late_sends": late,
                    "requests": requests,
                    "target_rps": target,
                    "throughput_rps": reached,
                },
            )
        )
    return findings


def _profile_findings(found: Sequence[Crossing]) -> list[Finding]:
    """One finding per production limit the run's load passed."""
    advice = {
        "api_rate": "Keep the test under API Gateway's rate limit or raise it.",
        "waf": (
            "Spread the load over more generator IPs, or exclude the generators from "
            "the WAF rate-based rule while testing."
        ),
        "lambda": "Raise Lambda's reserved concurrency or cut the latency per request.",
        "aurora": "Put RDS Proxy in front of Aurora or cap Lambda's concurrency.",
        "api_burst": "Ramp users more slowly than API Gateway's burst allows.",
    }
    return [
        Finding(
            kind="target_profile",
            severity="warning",
            title=f"{crossing.stage} passed a production limit ({crossing.limit})",
            detail=crossing.text + ".",
            recommendation=advice[crossing.limit],
            stage=crossing.stage,
            numbers={"value": crossing.value, "limit": crossing.allowed},
        )
        for crossing in found
    ]


# APDEX.


def apdex_table(run: Run) -> pd.DataFrame:
    """Return APDEX per stage x endpoint, estimated from the percentiles.

    Locust keeps no per-request times in its CSVs, so the share of requests within T
    (and 4T) is read off the percentile curve (min, p50, p90, p95, p99, p99.9, max),
    interpolating linearly; failed requests count as frustrated.

    Args:
        run: The loaded run.

    Returns:
        Columns ``stage``, ``endpoint``, ``t_ms``, ``requests``, ``apdex`` and
        ``rating``, API endpoints and stage totals only.
    """
    metrics = _frames.stage_metrics(run.stage_stats)
    rows = metrics[metrics["checked"] & (metrics["requests"] > 0)]
    records = []
    for row in _records(rows):
        endpoint = str(row["endpoint"])
        t_ms = run.settings.apdex_t(endpoint)
        score = _apdex(row, t_ms)
        records.append(
            {
                "stage": row["stage"],
                "endpoint": endpoint,
                "t_ms": t_ms,
                "requests": int(row["requests"]),
                "apdex": score,
                "rating": _rating(score),
            }
        )
    columns = ["stage", "endpoint", "t_ms", "requests", "apdex", "rating"]
    return pd.DataFrame.from_records(records, columns=columns)


def _apdex(row: Mapping[str, Any], t_ms: float) -> float:
    """APDEX of one stage x endpoint row (see :func:`apdex_table`)."""
    ladder = [
        (row["min_ms"], 0.0),
        (row["p50_ms"], 0.5),
        (row["p90_ms"], 0.9),
        (row["p95_ms"], 0.95),
        (row["p99_ms"], 0.99),
        (row["p999_ms"], 0.999),
        (row["max_ms"], 1.0),
    ]
    known = [(float(ms), q) for ms, q in ladder if not _missing(ms)]
    if not known:
        return math.nan
    times = np.maximum.accumulate(np.array([ms for ms, _ in known]))
    shares = np.array([q for _, q in known])

    requests = float(row["requests"])
    answered = (requests - float(row["failures"])) / requests
    satisfied = float(np.interp(t_ms, times, shares, left=0.0, right=1.0))
    tolerated = float(np.interp(4 * t_ms, times, shares, left=0.0, right=1.0))
    return answered * (satisfied + (tolerated - satisfied) / 2)


def _rating(score: float) -> str:
    if math.isnan(score):
        return ""
    return next(name for floor, name in _APDEX_RATINGS if score >= floor)


def _apdex_findings(apdex: pd.DataFrame, min_samples: int) -> list[Finding]:
    """Endpoints (not totals) with a poor APDEX at some stage, worst stage each."""
    rows = apdex[
        (apdex["endpoint"] != TOTAL)
        & (apdex["requests"] >= min_samples)
        & (apdex["apdex"] < APDEX_POOR)
    ]
    findings = []
    for endpoint, group in rows.groupby("endpoint", sort=False):
        worst = group.iloc[int(np.argmin(group["apdex"].to_numpy()))]
        findings.append(
            Finding(
                kind="apdex",
                severity="warning",
                title=f"Poor APDEX on {endpoint}",
                detail=(
                    f"At {worst['stage']}, {endpoint} scores APDEX {worst['apdex']:.2f} "
                    f"({worst['rating']}) with T = {worst['t_ms']:,.0f} ms, over "
                    f"{int(worst['requests']):,} requests."
                ),
                recommendation=(
                    f"Bring {endpoint} within its target time: most users wait over "
                    f"{worst['t_ms']:,.0f} ms (or fail)."
                ),
                stage=str(worst["stage"]),
                endpoint=str(endpoint),
                numbers={"apdex": worst["apdex"], "t_ms": worst["t_ms"]},
            )
        )
    return findings


# Helpers.


def _stage_loads(run: Run, totals: pd.DataFrame) -> list[StageLoad]:
    """Each stage's measured load, with concurrency by Little's law."""
    loads = []
    for row in _records(totals):
        start, end = row["stage_start"], row["stage_end"]
        if _missing(start) or _missing(end):
            continue
        concurrency = row["throughput_rps"] * row["mean_ms"] / 1000
        loads.append(
            StageLoad(
                stage=str(row["stage"]),
                start=float(start),
                end=float(end),
                rps=float(row["throughput_rps"]),
                users=float(row["users"]),
                concurrency=None if _missing(concurrency) else float(concurrency),
            )
        )
    return loads


def _stage_at(run: Run, at: float) -> str:
    """Name the stage that was running at an epoch time, or empty if none."""
    if _missing(at):
        return ""
    for stage in run.stages:
        if (
            stage.start is not None
            and stage.start <= at
            and (stage.end is None or at < stage.end)
        ):
            return stage.name
    return ""


def _epoch(text: object) -> float:
    """Parse Locust's ``2026-01-01T10:00:34Z`` into epoch seconds (NaN if it cannot)."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return math.nan


def _clock(epoch: float) -> str:
    """Format epoch seconds as UTC time of day."""
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%H:%M:%S UTC")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return a frame's rows as dicts keyed by column name."""
    return [
        {str(key): value for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
