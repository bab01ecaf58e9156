r"""Read Locust's CSV files and loadgate's stage table into normalised pandas frames.

Locust has renamed its CSV columns several times (``# requests`` became
``Request Count``, ``Method`` became ``Type``, ``99.999`` lost and regained its ``%``),
and files written on Windows carry a BOM, ``\r\r\n`` line endings or code-page bytes.
Every reader here turns such a file into one frame with snake_case columns, so callers
never see which Locust wrote it:

* stats: ``method``, ``name``, ``requests``, ``failures``, ``median_ms``, ``mean_ms``,
  ``min_ms``, ``max_ms``, ``avg_content_size``, ``rps``, ``failures_per_s``, one
  ``p<digits>_ms`` column per percentile (``50%`` -> ``p50_ms``, ``99.9%`` ->
  ``p999_ms``) and ``aggregated`` (True on the whole-run row, named ``Aggregated``).
* stats history: ``timestamp``, ``user_count``, ``method``, ``name``, ``rps``,
  ``failures_per_s``, the percentiles and the cumulative ``total_*`` columns.
* failures: ``method``, ``name``, ``error``, ``occurrences`` (and ``first_seen``,
  ``last_seen`` from Locust 2.44).
* exceptions: ``count``, ``message``, ``traceback``, ``nodes``.

Records are split with the standard :mod:`csv` reader rather than
:func:`pandas.read_csv`, because pandas pads a short (truncated) row with empty values
without a word; here every record must have as many fields as the header, and any
problem is an :class:`~loadgate.errors.InputDataError` naming the file, the line and
the reason.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from loadgate.errors import InputDataError

__all__ = [
    "STAGE_COLUMNS",
    "read_exceptions",
    "read_failures",
    "read_stage_table",
    "read_stats",
    "read_stats_history",
]

logger = logging.getLogger(__name__)

STAGE_COLUMNS: tuple[str, ...] = (
    "stage_index",
    "stage",
    "stage_start",
    "stage_end",
    "endpoint",
    "method",
    "name",
    "requests",
    "failures",
    "min_ms",
    "mean_ms",
    "max_ms",
    "p50_ms",
    "p90_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "throughput_rps",
)
"""The columns of ``loadgate_stages.csv``, in the order the plugin writes them."""

AGGREGATED = "Aggregated"
"""The name Locust gives the whole-run row (``Total`` before Locust 0.13.3)."""

_NA_TOKENS = frozenset({"", "N/A", "NaN", "nan"})
_PERCENTILE = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*%?$")
_PERCENTILE_COLUMN = re.compile(r"^p\d+_ms$")
_PERCENTILE_HEADER = tuple(
    f"{value}%" for value in (50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100)
)
_TOTALS_HEADER = tuple(
    "Total " + name
    for name in (
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
    )
)
_STAGE_TEXT = frozenset({"stage", "endpoint", "method", "name"})
_STAGE_COUNTS = ("stage_index", "requests", "failures")

_STATS_ALIASES: Mapping[str, str] = {
    "type": "method",
    "method": "method",
    "name": "name",
    "# requests": "requests",
    "request count": "requests",
    "# failures": "failures",
    "failure count": "failures",
    "median response time": "median_ms",
    "average response time": "mean_ms",
    "min response time": "min_ms",
    "max response time": "max_ms",
    "average content size": "avg_content_size",
    "requests/s": "rps",
    "requests failed/s": "failures_per_s",
    "failures/s": "failures_per_s",
}
_HISTORY_ALIASES: Mapping[str, str] = {
    "timestamp": "timestamp",
    "user count": "user_count",
    "type": "method",
    "method": "method",
    "name": "name",
    "requests/s": "rps",
    "requests failed/s": "failures_per_s",
    "failures/s": "failures_per_s",
    # Before Locust 1.0 the history's running totals had the stats file's names.
    "# requests": "total_requests",
    "total request count": "total_requests",
    "# failures": "total_failures",
    "total failure count": "total_failures",
    "median response time": "total_median_ms",
    "total median response time": "total_median_ms",
    "average response time": "total_mean_ms",
    "total average response time": "total_mean_ms",
    "min response time": "total_min_ms",
    "total min response time": "total_min_ms",
    "max response time": "total_max_ms",
    "total max response time": "total_max_ms",
    "average content size": "total_avg_content_size",
    "total average content size": "total_avg_content_size",
}
_FAILURES_ALIASES: Mapping[str, str] = {
    "method": "method",
    "type": "method",
    "name": "name",
    "error": "error",
    "occurrences": "occurrences",
    "first seen": "first_seen",
    "last seen": "last_seen",
}
_EXCEPTIONS_ALIASES: Mapping[str, str] = {
    "count": "count",
    "message": "message",
    "traceback": "traceback",
    "nodes": "nodes",
}


@dataclass(frozen=True)
class _Kind:
    """How one kind of CSV file is normalised."""

    aliases: Mapping[str, str]
    required: tuple[str, ...]
    text: frozenset[str]
    counts: tuple[str, ...]
    percentiles: bool
    header: tuple[str, ...]


_STATS = _Kind(
    aliases=_STATS_ALIASES,
    required=("method", "name", "requests", "failures"),
    text=frozenset({"method", "name"}),
    counts=("requests", "failures"),
    percentiles=True,
    header=(
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
        *_PERCENTILE_HEADER,
    ),
)
_HISTORY = _Kind(
    aliases=_HISTORY_ALIASES,
    required=("timestamp", "name"),
    text=frozenset({"method", "name"}),
    counts=(),
    percentiles=True,
    header=(
        "Timestamp",
        "User Count",
        "Type",
        "Name",
        "Requests/s",
        "Failures/s",
        *_PERCENTILE_HEADER,
        *_TOTALS_HEADER,
    ),
)
_FAILURES = _Kind(
    aliases=_FAILURES_ALIASES,
    required=("method", "name", "error", "occurrences"),
    text=frozenset({"method", "name", "error", "first_seen", "last_seen"}),
    counts=("occurrences",),
    percentiles=False,
    header=("Method", "Name", "Error", "Occurrences", "First Seen", "Last Seen"),
)
_EXCEPTIONS = _Kind(
    aliases=_EXCEPTIONS_ALIASES,
    required=("count", "message"),
    text=frozenset({"message", "traceback", "nodes"}),
    counts=("count",),
    percentiles=False,
    header=("Count", "Message", "Traceback", "Nodes"),
)


@dataclass(frozen=True)
class _Table:
    """Raw text cells of a CSV file, with the line each record ends on."""

    path: Path
    header: list[str]
    rows: list[list[str]]
    lines: list[int]


def read_stats(path: Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """Read a Locust ``*_stats.csv`` file (any Locust from 0.13.3 on).

    Args:
        path: The CSV file.
        missing_ok: Return an empty frame (and log a warning) if the file is absent.

    Returns:
        One row per request type and name, plus the ``Aggregated`` row, with the
        columns described in this module's docstring. ``method`` is empty and
        ``aggregated`` is True on the whole-run row.

    Raises:
        InputDataError: The file is missing, unreadable, truncated, lacks a required
            column or holds a value that is not a number where one is expected.
    """
    frame = _normalised(_read_table(path, _STATS, missing_ok), _STATS)
    return _mark_aggregated(frame)


def read_stats_history(path: Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """Read a Locust ``*_stats_history.csv`` file.

    Args:
        path: The CSV file.
        missing_ok: Return an empty frame (and log a warning) if the file is absent.

    Returns:
        One row per sample, ``N/A`` cells as NaN; columns as in the module docstring.

    Raises:
        InputDataError: As for :func:`read_stats`.
    """
    frame = _normalised(_read_table(path, _HISTORY, missing_ok), _HISTORY)
    if "method" not in frame.columns:
        frame["method"] = ""
    return _mark_aggregated(frame)


def read_failures(path: Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """Read a Locust ``*_failures.csv`` file.

    Args:
        path: The CSV file.
        missing_ok: Return an empty frame (and log a warning) if the file is absent.

    Returns:
        One row per (method, name, error) with its ``occurrences``.

    Raises:
        InputDataError: As for :func:`read_stats`.
    """
    return _normalised(_read_table(path, _FAILURES, missing_ok), _FAILURES)


def read_exceptions(path: Path, *, missing_ok: bool = False) -> pd.DataFrame:
    """Read a Locust ``*_exceptions.csv`` file (tracebacks may span lines).

    Args:
        path: The CSV file.
        missing_ok: Return an empty frame (and log a warning) if the file is absent.

    Returns:
        One row per distinct exception with its ``count``.

    Raises:
        InputDataError: As for :func:`read_stats`.
    """
    return _normalised(_read_table(path, _EXCEPTIONS, missing_ok), _EXCEPTIONS)


def read_stage_table(path: Path) -> pd.DataFrame:
    """Read ``loadgate_stages.csv``, written by loadgate's Locust plugin.

    Args:
        path: The CSV file.

    Returns:
        The columns of :data:`STAGE_COLUMNS`: counts as int64, times and latencies
        as float64 (NaN where the stage had no requests), text as str.

    Raises:
        InputDataError: The file is missing, unreadable, truncated, lacks one of
            :data:`STAGE_COLUMNS`, or a row is inconsistent (an empty stage or
            endpoint, more failures than requests).
    """
    table = _read_table(path)
    header = [name.strip() for name in table.header]
    _require(table, header, STAGE_COLUMNS)

    frame = pd.DataFrame(table.rows, columns=header, dtype=object)
    for column in header:
        if column in _STAGE_TEXT:
            frame[column] = frame[column].astype(str).str.strip()
        elif column in STAGE_COLUMNS:
            frame[column] = _numbers(table, frame, column, column)
    for column in _STAGE_COUNTS:
        frame[column] = _whole(table, frame, column, column)

    _check_stage_rows(table, frame)
    return frame


def _read_table(
    path: Path, kind: _Kind | None = None, missing_ok: bool = False
) -> _Table:
    """Decode a CSV file and split it into header and records of equal width.

    A missing file is an error unless ``missing_ok``; then it reads as the current
    Locust header of ``kind`` with no records.
    """
    if missing_ok and kind is not None and not path.exists():
        logger.warning("CSV not found: %s; it is read as an empty table", path)
        return _Table(path=path, header=list(kind.header), rows=[], lines=[])

    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for record in reader:
            if not record:
                continue
            if header is None:
                header = record
                continue
            if len(record) != len(header):
                raise InputDataError(
                    f"{path}: line {reader.line_num} has {len(record)} fields where "
                    f"the header has {len(header)}; the file looks truncated or garbled"
                )
            rows.append(record)
            lines.append(reader.line_num)
    except csv.Error as error:
        raise InputDataError(
            f"{path}: line {reader.line_num} is not valid CSV ({error}); "
            "the file looks truncated or garbled"
        ) from None

    if header is None:
        raise InputDataError(f"{path}: the file is empty; expected a CSV header line")
    return _Table(path=path, header=header, rows=rows, lines=lines)


def _decode(path: Path) -> str:
    r"""Return a file's text without BOM, with ``\r\r\n`` turned into ``\r\n``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputDataError(f"{path}: file not found") from None
    except OSError as error:
        raise InputDataError(
            f"{path}: cannot read the file ({error.strerror})"
        ) from None

    if b"\x00" in data:
        raise InputDataError(f"{path}: the file holds NUL bytes; it is not a text CSV")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        logger.warning(
            "CSV is not UTF-8: %s (byte %s); undecodable bytes are shown as U+FFFD",
            path,
            error.start,
        )
        text = data.decode("utf-8-sig", errors="replace")
    # Windows text-mode files get an extra \r before the csv module's \r\n.
    return text.replace("\r\r\n", "\r\n")


def _normalised(table: _Table, kind: _Kind) -> pd.DataFrame:
    """Rename a Locust table's columns and convert its numeric cells."""
    header = _column_names(table, kind)
    _require(table, header, kind.required)

    labels = {
        name: cell.strip() for name, cell in zip(header, table.header, strict=True)
    }
    frame = pd.DataFrame(table.rows, columns=header, dtype=object)
    for column in header:
        if _is_numeric(column, kind):
            frame[column] = _numbers(table, frame, column, labels[column])
        else:
            frame[column] = frame[column].astype(str)
    for column in kind.counts:
        frame[column] = _whole(table, frame, column, labels[column])
    return frame


def _column_names(table: _Table, kind: _Kind) -> list[str]:
    """Map each header cell to its normalised column name."""
    names: list[str] = []
    for cell in table.header:
        label = cell.strip().lstrip("\ufeff")
        key = label.casefold()
        match = _PERCENTILE.match(label) if kind.percentiles else None
        if key in kind.aliases:
            names.append(kind.aliases[key])
        elif match:
            names.append("p" + match.group("value").replace(".", "") + "_ms")
        else:
            names.append(re.sub(r"[^0-9a-z]+", "_", key).strip("_") or "unnamed")

    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputDataError(
            f"{table.path}: the header names column(s) {', '.join(duplicates)} more "
            f"than once: {table.header!r}"
        )
    return names


def _is_numeric(column: str, kind: _Kind) -> bool:
    """Tell whether a normalised column holds numbers (unknown columns stay text)."""
    if column in kind.text:
        return False
    if kind.percentiles and _PERCENTILE_COLUMN.match(column):
        return True
    return column in kind.aliases.values()


def _require(table: _Table, header: Sequence[str], required: Collection[str]) -> None:
    """Raise unless every required column is in the header."""
    missing = [column for column in required if column not in header]
    if missing:
        raise InputDataError(
            f"{table.path}: missing column(s) {', '.join(missing)}; "
            f"the header is {', '.join(table.header)}"
        )


def _numbers(table: _Table, frame: pd.DataFrame, column: str, label: str) -> pd.Series:
    """Convert a text column to float64; ``N/A`` and empty cells become NaN."""
    cells = frame[column].astype(str).str.strip()
    blank = cells.isin(_NA_TOKENS)
    values = pd.to_numeric(cells.mask(blank), errors="coerce").astype("float64")

    bad = values.isna() & ~blank
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise InputDataError(
            f"{table.path}: line {table.lines[position]}: column {label!r} holds "
            f"{cells.iloc[position]!r}; expected a number or N/A"
        )
    return values


def _whole(table: _Table, frame: pd.DataFrame, column: str, label: str) -> pd.Series:
    """Turn a float64 count column into int64, refusing blanks and fractions."""
    values = frame[column]
    bad = values.isna() | (values % 1 != 0) | (values < 0)
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        cell = table.rows[position][list(frame.columns).index(column)]
        raise InputDataError(
            f"{table.path}: line {table.lines[position]}: column {label!r} holds "
            f"{cell!r}; expected a whole number >= 0"
        )
    return values.astype("int64")


def _mark_aggregated(frame: pd.DataFrame) -> pd.DataFrame:
    """Name the whole-run row ``Aggregated`` with an empty method, and flag it."""
    method = frame["method"].str.strip()
    no_method = method.isin(("", "None"))
    aggregated = no_method & frame["name"].isin((AGGREGATED, "Total"))
    return frame.assign(
        method=method.where(~no_method, ""),
        name=frame["name"].where(~aggregated, AGGREGATED),
        aggregated=aggregated,
    )


def _check_stage_rows(table: _Table, frame: pd.DataFrame) -> None:
    """Refuse stage rows that no plugin run could have written."""
    unnamed = ((frame["stage"] == "") | (frame["endpoint"] == "")).to_numpy()
    if unnamed.any():
        line = table.lines[int(unnamed.nonzero()[0][0])]
        raise InputDataError(
            f"{table.path}: line {line}: the stage and endpoint must not be empty"
        )

    excess = (frame["failures"] > frame["requests"]).to_numpy()
    if excess.any():
        position = int(excess.nonzero()[0][0])
        raise InputDataError(
            f"{table.path}: line {table.lines[position]}: failures "
            f"({frame['failures'].iloc[position]}) exceed requests "
            f"({frame['requests'].iloc[position]})"
        )
