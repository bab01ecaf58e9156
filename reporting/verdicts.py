"""Judge a run by its thresholds: one :class:`Verdict` per threshold, stage and endpoint.

Each threshold is checked for every stage of the run and every endpoint it applies to
(see :meth:`loadgate.scenarios.Threshold.applies_to`), using ``loadgate_stages.csv``.
Cognito sign-in rows (endpoint ``cognito:*``) are never checked. A check is:

* ``no_data`` when its stage never ran or its endpoint had no requests in the stage;
* ``insufficient_data`` when the stage x endpoint had fewer requests than the run's
  ``min_samples`` (whatever the value: too few samples neither pass nor fail);
* ``inconclusive`` when the limit lies inside the precision band of a bucketed
  percentile (see :mod:`reporting.precision`): the true value may be on either side;
* otherwise ``pass`` or ``fail``.

The run fails if any check fails; only that makes :func:`exit_code` return 1 (the
other statuses are counted and shown, never fatal), as :mod:`loadgate.errors` documents.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loadgate.errors import EXIT_OK, EXIT_THRESHOLD_FAILED
from loadgate.scenarios import TOTAL, Threshold
from reporting import _frames
from reporting.precision import BUCKETED_METRICS, percentile_band
from reporting.run import Run

__all__ = [
    "CHECK_STATUSES",
    "CheckStatus",
    "Verdict",
    "evaluate",
    "exit_code",
    "judge",
    "overall_status",
    "status_counts",
    "threshold_status",
]

logger = logging.getLogger(__name__)

CheckStatus = Literal["pass", "fail", "inconclusive", "insufficient_data", "no_data"]
"""The outcome of one check."""

CHECK_STATUSES: tuple[CheckStatus, ...] = (
    "fail",
    "inconclusive",
    "insufficient_data",
    "no_data",
    "pass",
)
"""Every check status, in the order reports list them."""


@dataclass(frozen=True)
class Verdict:
    """The outcome of one threshold for one stage and endpoint.

    Attributes:
        threshold: The threshold's label, e.g. ``p95_ms < 1000``.
        metric: The metric checked, one of :data:`loadgate.scenarios.METRICS`.
        op: ``below`` or ``at_least``.
        limit: The threshold's limit.
        stage: Stage name.
        endpoint: Endpoint key, or ``total`` for the whole stage.
        measured: The measured value, None when there was no data.
        status: One of :data:`CHECK_STATUSES`.
        samples: Requests of the stage x endpoint (0 without data).
        low: Lowest true value the measured figure may stand for (its precision).
        high: Highest true value it may stand for; both None without data.
    """

    threshold: str
    metric: str
    op: Literal["below", "at_least"]
    limit: float
    stage: str
    endpoint: str
    measured: float | None
    status: CheckStatus
    samples: int = 0
    low: float | None = None
    high: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the verdict as JSON-ready data."""
        return {
            "threshold": self.threshold,
            "metric": self.metric,
            "op": self.op,
            "limit": self.limit,
            "stage": self.stage,
            "endpoint": self.endpoint,
            "measured": self.measured,
            "measured_low": self.low,
            "measured_high": self.high,
            "samples": self.samples,
            "status": self.status,
        }


def evaluate(run: Run) -> list[Verdict]:
    """Check every threshold of a run against its stage table.

    Args:
        run: The loaded run.

    Returns:
        One verdict per (threshold, stage, endpoint) the threshold applies to, in
        threshold order, then stage order, then endpoint order (``total`` last).
    """
    metrics = _frames.stage_metrics(run.stage_stats)
    checked = metrics[metrics["checked"]]
    rows = {
        (str(row["stage"]), str(row["endpoint"])): row
        for row in checked.to_dict(orient="records")
    }
    endpoints = _candidate_endpoints(_frames.endpoint_order(checked), run.thresholds)

    minimum = run.settings.min_samples
    verdicts = [
        _check(
            threshold, stage.name, endpoint, rows.get((stage.name, endpoint)), minimum
        )
        for threshold in run.thresholds
        for stage in run.stages
        for endpoint in endpoints
        if threshold.applies_to(stage.name, endpoint)
    ]
    failed = sum(verdict.status == "fail" for verdict in verdicts)
    logger.info(
        "thresholds checked: %s checks, %s failed; run %s",
        len(verdicts),
        failed,
        overall_status(verdicts),
    )
    return verdicts


def overall_status(
    verdicts: Iterable[Verdict],
) -> Literal["pass", "fail", "inconclusive"]:
    """Return ``fail`` if any check failed, ``pass`` if at least one passed.

    Inconclusive, insufficient-data and no-data checks do not fail a run; they are
    counted by :func:`status_counts` and shown beside the status. A run none of whose
    checks could be decided (every user crashed, nothing reached the target) is
    ``inconclusive``: a gate must not pass on no evidence.
    """
    statuses = {verdict.status for verdict in verdicts}
    if "fail" in statuses:
        return "fail"
    if "pass" in statuses or not statuses:
        return "pass"
    return "inconclusive"


def status_counts(verdicts: Iterable[Verdict]) -> dict[CheckStatus, int]:
    """Return how many checks have each status, every status present (maybe 0)."""
    counts: dict[CheckStatus, int] = dict.fromkeys(CHECK_STATUSES, 0)
    for verdict in verdicts:
        counts[verdict.status] += 1
    return counts


def threshold_status(group: Iterable[Verdict]) -> CheckStatus:
    """Return one status for all the checks of one threshold.

    Any failure fails it; else any inconclusive check makes it inconclusive; else one
    pass passes it; else it had insufficient data, or none.
    """
    statuses = {verdict.status for verdict in group}
    for status in ("fail", "inconclusive", "pass", "insufficient_data"):
        if status in statuses:
            return status
    return "no_data"


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """Return the process status for a judged run: 0 if it passed, else 1."""
    return EXIT_OK if overall_status(verdicts) == "pass" else EXIT_THRESHOLD_FAILED


def _candidate_endpoints(
    seen: Sequence[str], thresholds: Sequence[Threshold]
) -> list[str]:
    """Endpoints to check: those in the stage table, then any a threshold names."""
    named = [
        endpoint
        for threshold in thresholds
        for endpoint in threshold.endpoints
        if not endpoint.startswith(_frames.COGNITO_PREFIX)
    ]
    extra = [endpoint for endpoint in dict.fromkeys(named) if endpoint not in seen]
    return [*(key for key in seen if key != TOTAL), *extra, TOTAL]


def _check(
    threshold: Threshold,
    stage: str,
    endpoint: str,
    row: Mapping[Hashable, Any] | None,
    min_samples: int,
) -> Verdict:
    """Judge one threshold against one stage-table row (None: no row at all)."""
    samples = 0 if row is None else int(row["requests"])
    return judge(
        threshold,
        stage,
        endpoint,
        _measured(threshold.metric, row),
        samples,
        min_samples,
    )


def judge(
    threshold: Threshold,
    stage: str,
    endpoint: str,
    measured: float | None,
    samples: int,
    min_samples: int,
) -> Verdict:
    """Judge one measured value of a stage x endpoint against a threshold.

    Args:
        threshold: The threshold checked.
        stage: The stage's name.
        endpoint: The endpoint key, or ``total``.
        measured: The value of the threshold's metric; None when nothing was measured.
        samples: The requests behind the value.
        min_samples: Fewest requests that may be judged.

    Returns:
        The check, with the value's precision band for a bucketed percentile.
    """
    low = high = measured
    if measured is None:
        status: CheckStatus = "no_data"
    else:
        if threshold.metric in BUCKETED_METRICS:
            low, high = percentile_band(measured)
        status = _judge(threshold, low or 0.0, high or 0.0)
        if samples < min_samples:
            status = "insufficient_data"
    return Verdict(
        threshold=threshold.label,
        metric=threshold.metric,
        op=threshold.op,
        limit=threshold.limit,
        stage=stage,
        endpoint=endpoint,
        measured=measured,
        status=status,
        samples=samples,
        low=low,
        high=high,
    )


def _judge(threshold: Threshold, low: float, high: float) -> CheckStatus:
    """Pass or fail when every value in [low, high] agrees, else inconclusive."""
    passes = {threshold.passes(low), threshold.passes(high)}
    if passes == {True}:
        return "pass"
    return "fail" if passes == {False} else "inconclusive"


def _measured(metric: str, row: Mapping[Hashable, Any] | None) -> float | None:
    """Return a row's value of a metric, or None without requests or a value."""
    if row is None or not row["requests"]:
        return None
    value = row.get(metric)
    if value is None or math.isnan(float(value)):
        return None
    return float(value)
