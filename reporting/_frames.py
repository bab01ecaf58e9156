"""Pandas transforms behind the verdicts and the reports: frame in, frame out, no I/O.

The last function, :func:`records`, is the one step from frames to plain data: it turns
rows into JSON-ready dicts (NaN becomes None, numpy scalars become Python numbers).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from loadgate.scenarios import TOTAL

COGNITO_PREFIX = "cognito:"
"""Endpoint keys of Cognito sign-in rows, shown in tables but never checked."""

STAGE_ROW_COLUMNS = (
    "endpoint",
    "method",
    "name",
    "requests",
    "failures",
    "availability_pct",
    "error_rate_pct",
    "min_ms",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "throughput_rps",
    "throughput_rpm",
    "users",
    "target_rps",
    "late_sends",
    "co_p50_ms",
    "co_p95_ms",
    "co_p99_ms",
    "apdex",
)
"""The per-endpoint metrics of one stage, as written to ``summary.json``.

``target_rps``, ``late_sends`` and the ``co_*`` (coordinated-omission corrected)
latencies are null unless the stage was a rate stage of a newer plugin."""

ENDPOINT_ROW_COLUMNS = (
    "endpoint",
    "method",
    "name",
    "requests",
    "failures",
    "availability_pct",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "rps",
)
"""The whole-run per-endpoint metrics, as written to ``summary.json``."""

FAILURE_ROW_COLUMNS = ("method", "name", "error", "occurrences")
ERROR_ROW_COLUMNS = (
    "class",
    "label",
    "cause",
    "method",
    "name",
    "error",
    "occurrences",
    "first_seen",
    "last_seen",
    "stage",
)
"""Locust's failures with their class of error, as written to ``summary.json``."""
EXCEPTION_ROW_COLUMNS = ("count", "message", "traceback", "nodes")


def with_rates(frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``availability_pct`` and ``error_rate_pct`` from requests and failures.

    Both are NaN where there were no requests. Availability is computed as
    ``100 * (requests - failures) / requests`` so that 999 of 1000 is exactly 99.9.
    """
    requests = frame["requests"].astype("float64")
    counted = requests.where(requests > 0)
    failures = frame["failures"].astype("float64")
    return frame.assign(
        availability_pct=100.0 * (requests - failures) / counted,
        error_rate_pct=100.0 * failures / counted,
    )


def stage_metrics(stage_stats: pd.DataFrame) -> pd.DataFrame:
    """Return the stage table with every threshold metric as a column.

    Adds ``availability_pct``, ``error_rate_pct`` and ``throughput_rpm``, and a
    ``checked`` flag that is False for Cognito rows (never judged by thresholds).
    """
    frame = with_rates(stage_stats)
    return frame.assign(
        throughput_rpm=frame["throughput_rps"] * 60.0,
        checked=~frame["endpoint"].str.startswith(COGNITO_PREFIX),
    )


def endpoint_order(stage_stats: pd.DataFrame) -> list[str]:
    """Return the endpoint keys in the order the stage table first lists them.

    The stage ``total`` always comes last.
    """
    keys = [key for key in stage_stats["endpoint"].unique() if key != TOTAL]
    return [*keys, TOTAL]


def request_labels(stage_stats: pd.DataFrame) -> dict[str, str]:
    """Return how people read each endpoint key, e.g. ``GET /api/v1/rooms``.

    ``total`` maps to ``all requests``; a key whose rows have no method maps to its
    name alone; a key that already reads that way (plain Locust CSVs) maps to "".
    """
    labels: dict[str, str] = {}
    for endpoint, method, name in stage_stats[
        ["endpoint", "method", "name"]
    ].itertuples(index=False):
        if endpoint not in labels and endpoint != TOTAL:
            label = f"{method} {name}".strip()
            labels[str(endpoint)] = "" if label == endpoint else label
    labels[TOTAL] = "all requests"
    return labels


def stage_rows(metrics: pd.DataFrame, stage: str) -> pd.DataFrame:
    """Return one stage's rows from :func:`stage_metrics`, ``total`` last."""
    rows = metrics[metrics["stage"] == stage]
    last = rows["endpoint"] == TOTAL
    return pd.concat([rows[~last], rows[last]]).reset_index(drop=True)


def endpoint_rows(stats: pd.DataFrame, stage_stats: pd.DataFrame) -> pd.DataFrame:
    """Return Locust's whole-run stats per endpoint, named by endpoint key.

    Each row gets the endpoint key the stage table gives its method and name
    (``total`` for Locust's ``Aggregated`` row, empty if unknown), availability, and
    ``p50_ms`` from the 50% column (Locust's median where no such column exists).
    The ``Aggregated`` row comes last.
    """
    keys = {
        (method, name): endpoint
        for method, name, endpoint in stage_stats[["method", "name", "endpoint"]]
        .drop_duplicates()
        .itertuples(index=False)
        if endpoint != TOTAL
    }
    frame = with_rates(stats)
    for column in ("p50_ms", "p95_ms", "p99_ms", "median_ms", "mean_ms", "max_ms"):
        if column not in frame.columns:
            frame[column] = math.nan

    endpoint = [
        TOTAL if aggregated else keys.get((method, name), "")
        for method, name, aggregated in zip(
            frame["method"], frame["name"], frame["aggregated"], strict=True
        )
    ]
    frame = frame.assign(
        endpoint=endpoint, p50_ms=frame["p50_ms"].fillna(frame["median_ms"])
    )
    last = frame["aggregated"]
    return pd.concat([frame[~last], frame[last]]).reset_index(drop=True)


def failure_rows(failures: pd.DataFrame) -> pd.DataFrame:
    """Return Locust's failures, most frequent first (ties keep file order)."""
    return failures.sort_values(
        "occurrences", ascending=False, kind="stable"
    ).reset_index(drop=True)


def exception_rows(exceptions: pd.DataFrame) -> pd.DataFrame:
    """Return Locust's exceptions, most frequent first (ties keep file order)."""
    return exceptions.sort_values("count", ascending=False, kind="stable").reset_index(
        drop=True
    )


def records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Turn rows into JSON-ready dicts with exactly ``columns`` as keys.

    NaN and missing columns become None; numpy scalars become int, float or bool.
    """
    present = [column for column in columns if column in frame.columns]
    rows: list[dict[str, Any]] = []
    for raw in frame[present].to_dict(orient="records"):
        rows.append({column: plain(raw.get(column)) for column in columns})
    return rows


def plain(value: Any) -> Any:
    """Return a cell as a JSON-ready Python value (NaN becomes None)."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
