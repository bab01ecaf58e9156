"""Formatters for report values: each takes a number (or None) and returns display text.

They are registered once as jinja2 filters (see :data:`FILTERS`) so that templates only
lay out. A missing value (None or NaN) shows as an em dash.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

MISSING = "\u2014"
"""What a missing value shows as."""


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_count(value: float | None) -> str:
    """Format a count with thousands separators, e.g. ``12,345``."""
    if value is None or _missing(value):
        return MISSING
    return f"{int(value):,d}"


def fmt_ms(value: float | None) -> str:
    """Format milliseconds: one decimal below 100 ms, whole numbers above."""
    if value is None or _missing(value):
        return MISSING
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def fmt_pct(value: float | None) -> str:
    """Format a percentage with two decimals, never rounding onto 100 or 0.

    99.996 shows as ``> 99.99 %`` rather than ``100.00 %``, so that a run that lost
    requests never looks perfect.
    """
    if value is None or _missing(value):
        return MISSING
    text = f"{value:.2f}"
    if text == "100.00" and value < 100:
        return "> 99.99 %"
    if text == "0.00" and value > 0:
        return "< 0.01 %"
    return f"{text} %"


def fmt_rate(value: float | None) -> str:
    """Format a rate (per second or minute) with two decimals."""
    if value is None or _missing(value):
        return MISSING
    return f"{value:,.2f}"


def fmt_metric(value: float | None, metric: str) -> str:
    """Format a value of a threshold metric (``p95_ms``, ``availability_pct``...)."""
    if metric.endswith("_ms"):
        return fmt_ms(value) + ("" if value is None or _missing(value) else " ms")
    if metric.endswith("_pct"):
        return fmt_pct(value)
    return fmt_rate(value)


def fmt_time(epoch: float | None) -> str:
    """Format epoch seconds as UTC, e.g. ``2026-01-01 10:00:00 UTC``."""
    if epoch is None or _missing(epoch):
        return MISSING
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_duration(seconds: float | None) -> str:
    """Format a duration, e.g. ``14.9 s``, ``2 min 05 s`` or ``1 h 02 min``."""
    if seconds is None or _missing(seconds):
        return MISSING
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def fmt_score(value: float | None) -> str:
    """Format a score from 0 to 1 (APDEX) with two decimals."""
    if value is None or _missing(value):
        return MISSING
    return f"{value:.2f}"


def fmt_yes_no(value: bool) -> str:
    """Format a flag as ``yes`` or ``no``."""
    return "yes" if value else "no"


FILTERS: Mapping[str, Callable[..., Any]] = {
    "count": fmt_count,
    "ms": fmt_ms,
    "pct": fmt_pct,
    "rate": fmt_rate,
    "metric": fmt_metric,
    "time": fmt_time,
    "duration": fmt_duration,
    "yes_no": fmt_yes_no,
    "score": fmt_score,
}
"""The jinja2 filters the report templates use, by name."""
