"""Judge a run by its thresholds: one :class:`Verdict` per threshold, stage and endpoint.

Each threshold is checked for every stage of the run and every endpoint it applies to
(see :meth:`loadgate.scenarios.Threshold.applies_to`), using ``loadgate_stages.csv``.
Cognito sign-in rows (endpoint ``cognito:*``) are never checked. A check whose stage
never ran, or whose endpoint had no requests in the stage, is ``no_data``: it neither
passes nor fails the run.

The run fails if any check fails; :func:`exit_code` turns that into the process status
(0 pass, 1 a threshold failed), as :mod:`loadgate.errors` documents.
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
from reporting.run import Run

__all__ = [
    "CheckStatus",
    "Verdict",
    "evaluate",
    "exit_code",
    "overall_status",
]

logger = logging.getLogger(__name__)

CheckStatus = Literal["pass", "fail", "no_data"]
"""The outcome of one check."""


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
        status: ``pass``, ``fail`` or ``no_data``.
    """

    threshold: str
    metric: str
    op: Literal["below", "at_least"]
    limit: float
    stage: str
    endpoint: str
    measured: float | None
    status: CheckStatus

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

    verdicts = [
        _check(threshold, stage.name, endpoint, rows.get((stage.name, endpoint)))
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


def overall_status(verdicts: Iterable[Verdict]) -> Literal["pass", "fail"]:
    """Return ``fail`` if any check failed, else ``pass``."""
    return "fail" if any(verdict.status == "fail" for verdict in verdicts) else "pass"


def exit_code(verdicts: Iterable[Verdict]) -> int:
    """Return the process status for a judged run: 0 if it passed, 1 if it failed."""
    return EXIT_THRESHOLD_FAILED if overall_status(verdicts) == "fail" else EXIT_OK


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
) -> Verdict:
    """Judge one threshold against one stage-table row (None: no row at all)."""
    measured = _measured(threshold.metric, row)
    if measured is None:
        status: CheckStatus = "no_data"
    else:
        status = "pass" if threshold.passes(measured) else "fail"
    return Verdict(
        threshold=threshold.label,
        metric=threshold.metric,
        op=threshold.op,
        limit=threshold.limit,
        stage=stage,
        endpoint=endpoint,
        measured=measured,
        status=status,
    )


def _measured(metric: str, row: Mapping[Hashable, Any] | None) -> float | None:
    """Return a row's value of a metric, or None without requests or a value."""
    if row is None or not row["requests"]:
        return None
    value = row.get(metric)
    if value is None or math.isnan(float(value)):
        return None
    return float(value)
