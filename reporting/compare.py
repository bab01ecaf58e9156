"""Compare a run with one or more baseline runs, per stage x endpoint.

Five figures are compared: p50, p95 and p99 (lower is better), requests per second and
availability (higher is better). Each figure of each run gets an interval of values it
is consistent with, its *noise band*:

* one baseline run: the 95 % interval each figure has from its own sample count (a
  percentile's rank +- 2 standard errors read off the percentile curve and widened to
  Locust's bucket precision; a Poisson interval on the request count; a Wilson
  interval on availability);
* several baseline runs: the baselines' spread as well (their lowest to highest
  interval, and their mean +- 2 standard deviations), so run-to-run noise counts.

A percentile is compared only when at least :data:`MIN_TAIL_SAMPLES` requests lie
above it in both runs (p95 needs 100 requests, p99 500); below that it has ``no_data``,
as one slow request would decide it.

A figure *regressed* when the run's whole band lies on the worse side of the
baseline's band by more than the metric's tolerance (relative and absolute, see
:data:`DEFAULT_TOLERANCES`), *improved* when it lies that far on the better side, and
is the *same* otherwise. A stage x endpoint regressed if any figure did, improved if
any improved and none regressed. Rows missing on either side have ``no_data``.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from loadgate.scenarios import TOTAL
from reporting import _frames
from reporting.precision import percentile_band
from reporting.run import Run

__all__ = [
    "COMPARED_METRICS",
    "DEFAULT_TOLERANCES",
    "MIN_TAIL_SAMPLES",
    "Comparison",
    "MetricChange",
    "RowComparison",
    "Tolerance",
    "compare",
]

logger = logging.getLogger(__name__)

ChangeVerdict = Literal["improved", "same", "regressed", "no_data"]

COMPARED_METRICS = ("p50_ms", "p95_ms", "p99_ms", "throughput_rps", "availability_pct")
"""The figures compared, in report order."""

MIN_TAIL_SAMPLES = 5
"""A percentile is compared only with this many samples above it (p99: 500 requests)."""

_LOWER_IS_BETTER = frozenset({"p50_ms", "p95_ms", "p99_ms"})
_QUANTILES = {"p50_ms": 0.5, "p95_ms": 0.95, "p99_ms": 0.99}
_Z = 1.96


@dataclass(frozen=True)
class Tolerance:
    """How far a figure may move, beyond its noise band, and still be the same.

    Attributes:
        relative: A share of the baseline value, e.g. 0.1 for 10 %.
        absolute: An amount in the metric's unit (ms, req/s, percentage points).
    """

    relative: float
    absolute: float

    def margin(self, baseline: float) -> float:
        """Return the allowed movement from a baseline value."""
        return abs(baseline) * self.relative + self.absolute


DEFAULT_TOLERANCES: Mapping[str, Tolerance] = {
    "p50_ms": Tolerance(0.10, 5.0),
    "p95_ms": Tolerance(0.10, 10.0),
    "p99_ms": Tolerance(0.15, 20.0),
    "throughput_rps": Tolerance(0.10, 0.0),
    "availability_pct": Tolerance(0.0, 0.1),
}
"""Tolerance per metric when none is given."""


@dataclass(frozen=True)
class MetricChange:
    """One figure of one stage x endpoint, in the run and in the baseline.

    Attributes:
        metric: One of :data:`COMPARED_METRICS`.
        baseline: The baseline's value (the mean of several baselines).
        current: The run's value.
        baseline_band: The baseline's noise band ``(low, high)``.
        current_band: The run's noise band.
        verdict: ``improved``, ``same``, ``regressed`` or ``no_data``.
    """

    metric: str
    baseline: float | None
    current: float | None
    baseline_band: tuple[float, float] | None
    current_band: tuple[float, float] | None
    verdict: ChangeVerdict

    @property
    def delta(self) -> float | None:
        """The change from baseline to run, or None without both values."""
        if self.baseline is None or self.current is None:
            return None
        return self.current - self.baseline

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-ready data."""
        return {
            "metric": self.metric,
            "baseline": self.baseline,
            "current": self.current,
            "delta": self.delta,
            "baseline_band": list(self.baseline_band) if self.baseline_band else None,
            "current_band": list(self.current_band) if self.current_band else None,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class RowComparison:
    """The comparison of one stage x endpoint.

    Attributes:
        stage: Stage name.
        endpoint: Endpoint key (``total`` for the stage).
        verdict: The row's verdict (see the module docstring).
        changes: One per metric, in :data:`COMPARED_METRICS` order.
    """

    stage: str
    endpoint: str
    verdict: ChangeVerdict
    changes: tuple[MetricChange, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        return {
            "stage": self.stage,
            "endpoint": self.endpoint,
            "verdict": self.verdict,
            "metrics": [change.to_dict() for change in self.changes],
        }


@dataclass(frozen=True)
class Comparison:
    """A run compared with its baselines.

    Attributes:
        baselines: The baseline runs' ids.
        noise: How the noise bands were made, in one sentence.
        tolerances: Tolerance per metric.
        rows: One per stage x endpoint, in stage then endpoint order.
    """

    baselines: tuple[str, ...]
    noise: str
    tolerances: Mapping[str, Tolerance]
    rows: tuple[RowComparison, ...]

    def counts(self) -> dict[str, int]:
        """Return how many rows have each verdict."""
        counts = dict.fromkeys(("regressed", "improved", "same", "no_data"), 0)
        for row in self.rows:
            counts[row.verdict] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """Return the comparison as JSON-ready data."""
        return {
            "baselines": list(self.baselines),
            "noise": self.noise,
            "tolerances": {
                metric: {"relative": t.relative, "absolute": t.absolute}
                for metric, t in self.tolerances.items()
            },
            "counts": self.counts(),
            "rows": [row.to_dict() for row in self.rows],
        }


def compare(
    run: Run,
    baselines: Sequence[Run],
    tolerances: Mapping[str, Tolerance] | None = None,
) -> Comparison:
    """Compare a run with baseline runs of the same scenario.

    Args:
        run: The run to judge.
        baselines: One or more earlier runs (stages matched by name, endpoints by
            key).
        tolerances: Tolerance per metric; missing metrics use
            :data:`DEFAULT_TOLERANCES`.

    Returns:
        The comparison, one row per stage x endpoint found in either side.
    """
    tolerance = {**DEFAULT_TOLERANCES, **(tolerances or {})}
    current = _rows(run)
    bases = [_rows(baseline) for baseline in baselines]

    keys = list(dict.fromkeys([*current, *(key for base in bases for key in base)]))
    stage_order = {stage.name: stage.index for stage in run.stages}
    keys.sort(
        key=lambda key: (stage_order.get(key[0], len(stage_order)), key[1] == TOTAL)
    )
    rows = tuple(
        _compare_row(
            key, current.get(key), [base.get(key) for base in bases], tolerance
        )
        for key in keys
    )
    comparison = Comparison(
        baselines=tuple(baseline.run_id for baseline in baselines),
        noise=_noise_text(len(baselines)),
        tolerances=tolerance,
        rows=rows,
    )
    logger.info(
        "compared with %s baseline(s): %s",
        len(baselines),
        ", ".join(f"{n} {verdict}" for verdict, n in comparison.counts().items()),
    )
    return comparison


def _noise_text(baselines: int) -> str:
    own = (
        "each figure's 95 % interval from its sample count (percentile rank +- 2 "
        "standard errors on the percentile curve, within Locust's bucket precision; "
        "Poisson for req/s; Wilson for availability)"
    )
    if baselines > 1:
        return (
            f"{own}, widened to the {baselines} baselines' spread (lowest to highest, "
            "and mean +- 2 standard deviations)"
        )
    return own


def _rows(run: Run) -> dict[tuple[str, str], dict[str, Any]]:
    """Return the run's API rows and totals keyed by (stage, endpoint)."""
    metrics = _frames.stage_metrics(run.stage_stats)
    rows = metrics[metrics["checked"] & (metrics["requests"] > 0)]
    return {
        (str(row["stage"]), str(row["endpoint"])): {str(k): v for k, v in row.items()}
        for row in rows.to_dict(orient="records")
    }


def _compare_row(
    key: tuple[str, str],
    current: Mapping[str, Any] | None,
    baselines: Sequence[Mapping[str, Any] | None],
    tolerances: Mapping[str, Tolerance],
) -> RowComparison:
    present = [base for base in baselines if base is not None]
    changes = tuple(
        _compare_metric(metric, current, present, tolerances[metric])
        for metric in COMPARED_METRICS
    )
    verdicts = {change.verdict for change in changes}
    if current is None or not present:
        verdict: ChangeVerdict = "no_data"
    elif "regressed" in verdicts:
        verdict = "regressed"
    elif "improved" in verdicts:
        verdict = "improved"
    else:
        verdict = "same"
    return RowComparison(key[0], key[1], verdict, changes)


def _compare_metric(
    metric: str,
    current: Mapping[str, Any] | None,
    baselines: Sequence[Mapping[str, Any]],
    tolerance: Tolerance,
) -> MetricChange:
    now = _band(metric, current) if current is not None else None
    olds = [band for base in baselines if (band := _band(metric, base)) is not None]
    if now is None or not olds:
        return MetricChange(
            metric, None, _value(metric, current), None, None, "no_data"
        )

    points = [point for point, _, _ in olds]
    base = statistics.fmean(points)
    low = min(band_low for _, band_low, _ in olds)
    high = max(band_high for _, _, band_high in olds)
    if len(points) > 1:
        spread = _Z * statistics.stdev(points)
        low, high = min(low, base - spread), max(high, base + spread)

    value, now_low, now_high = now
    margin = tolerance.margin(base)
    worse_if_higher = metric in _LOWER_IS_BETTER
    above = now_low > high + margin
    below = now_high < low - margin
    if above:
        verdict: ChangeVerdict = "regressed" if worse_if_higher else "improved"
    elif below:
        verdict = "improved" if worse_if_higher else "regressed"
    else:
        verdict = "same"
    return MetricChange(metric, base, value, (low, high), (now_low, now_high), verdict)


def _value(metric: str, row: Mapping[str, Any] | None) -> float | None:
    if row is None:
        return None
    value = float(row.get(metric, math.nan))
    return None if math.isnan(value) else value


def _band(metric: str, row: Mapping[str, Any]) -> tuple[float, float, float] | None:
    """Return ``(value, low, high)``: a figure and its 95 % interval, or None."""
    value = _value(metric, row)
    requests = float(row["requests"])
    if value is None or requests <= 0:
        return None
    if metric in _QUANTILES:
        # A percentile with fewer than a few samples beyond it is one outlier's value.
        if requests * (1 - _QUANTILES[metric]) < MIN_TAIL_SAMPLES:
            return None
        return _percentile_band(row, _QUANTILES[metric], value, requests)
    if metric == "throughput_rps":
        spread = _Z / math.sqrt(requests)
        return value, value * (1 - spread), value * (1 + spread)
    successes = requests - float(row["failures"])
    low, high = _wilson(successes, requests)
    return value, 100.0 * low, 100.0 * high


def _percentile_band(
    row: Mapping[str, Any], quantile: float, value: float, requests: float
) -> tuple[float, float, float]:
    """A percentile's interval: its rank +- 2 standard errors, read off the curve."""
    ladder = [
        ("min_ms", 0.0),
        ("p50_ms", 0.5),
        ("p90_ms", 0.9),
        ("p95_ms", 0.95),
        ("p99_ms", 0.99),
        ("p999_ms", 0.999),
        ("max_ms", 1.0),
    ]
    known = [
        (q, float(row[column]))
        for column, q in ladder
        if column in row and not math.isnan(float(row[column]))
    ]
    shares = np.array([q for q, _ in known])
    times = np.maximum.accumulate(np.array([ms for _, ms in known]))
    error = _Z * math.sqrt(quantile * (1 - quantile) / requests)
    low = float(np.interp(max(quantile - error, 0.0), shares, times))
    high = float(np.interp(min(quantile + error, 1.0), shares, times))
    bucket_low, bucket_high = percentile_band(value)
    return value, min(low, bucket_low, value), max(high, bucket_high, value)


def _wilson(successes: float, trials: float) -> tuple[float, float]:
    """Wilson score interval of a proportion."""
    share = successes / trials
    denominator = 1 + _Z**2 / trials
    centre = (share + _Z**2 / (2 * trials)) / denominator
    half = (
        _Z * math.sqrt(share * (1 - share) / trials + _Z**2 / (4 * trials**2))
    ) / denominator
    return max(centre - half, 0.0), min(centre + half, 1.0)


def comparison_frame(comparison: Comparison) -> pd.DataFrame:
    """Return the comparison as one row per stage x endpoint x metric (for tables)."""
    records = [
        {"stage": row.stage, "endpoint": row.endpoint, "row_verdict": row.verdict}
        | change.to_dict()
        for row in comparison.rows
        for change in row.changes
    ]
    return pd.DataFrame.from_records(records)
