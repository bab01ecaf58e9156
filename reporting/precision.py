"""How precise a Locust percentile is, as a band of true values around the figure shown.

Locust keeps each response time in a bucket: times below 100 ms exactly (in whole
milliseconds), longer ones rounded to two significant digits, so 10 ms buckets from
100 ms to 1 s, 100 ms buckets from 1 s to 10 s, and so on. A percentile is the bucket
its rank falls in, so a p95 shown as 1,000 ms only says the true p95 lies between
995 ms (the lowest time rounded up to 1,000) and 1,050 ms (the highest rounded down).
Means, minimums and maximums are kept exactly.
"""

from __future__ import annotations

__all__ = [
    "BUCKETED_METRICS",
    "EXACT_BELOW_MS",
    "PRECISION_NOTE",
    "bucket_width",
    "percentile_band",
]

EXACT_BELOW_MS = 100.0
"""Below this, Locust keeps response times exactly (in whole milliseconds)."""

BUCKETED_METRICS = frozenset({"p50_ms", "p90_ms", "p95_ms", "p99_ms", "p999_ms"})
"""Threshold metrics read from Locust's buckets; the others are exact."""

PRECISION_NOTE = (
    "Percentiles are Locust's bucketed values: exact below 100 ms, then two significant "
    "digits (within 5 ms from 100 ms, 50 ms from 1 s, 500 ms from 10 s). Means, minimums "
    "and maximums are exact."
)
"""The one sentence reports print wherever percentiles are shown."""


def bucket_width(value_ms: float) -> float:
    """Return the width of Locust's response-time bucket that holds a value.

    Args:
        value_ms: A response time in milliseconds.

    Returns:
        1 below 100 ms, 10 from 100 ms, 100 from 1,000 ms, and so on.
    """
    if value_ms < EXACT_BELOW_MS:
        return 1.0
    digits = len(str(int(value_ms)))
    return float(10 ** (digits - 2))


def percentile_band(value_ms: float) -> tuple[float, float]:
    """Return the lowest and highest true value a bucketed percentile may stand for.

    Args:
        value_ms: A percentile as Locust reports it.

    Returns:
        ``(low, high)``; both equal ``value_ms`` below 100 ms, where Locust is exact.
    """
    if value_ms < EXACT_BELOW_MS:
        return value_ms, value_ms
    width = bucket_width(value_ms)
    high = value_ms + width / 2
    if value_ms == EXACT_BELOW_MS:
        return value_ms, high
    # At a power of ten the bucket below is ten times narrower (995 rounds to 1,000).
    power = int(value_ms) == 10 ** (len(str(int(value_ms))) - 1)
    return value_ms - (width / 10 if power else width) / 2, high
