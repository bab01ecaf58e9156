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
* distribution (Locust 0.x only): ``method``, ``name``, ``requests``, the percentiles
  and ``aggregated``.

Stats, failures, exceptions and the stage table are small: their records are split
with the standard :mod:`csv` reader, because :func:`pandas.read_csv` pads a short
(truncated) row with empty values without a word; here every record must have as many
fields as the header. A stats history can hold millions of rows (a day of
``--csv-full-history``), so it is parsed by :func:`pandas.read_csv` and then checked:
its last record must be complete, a record with too many fields is refused, and a cell
that is not a number is reported with its line. Any problem is an
:class:`~loadgate.errors.InputDataError` naming the file, the line and the reason.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import charset_normalizer
import numpy as np
import pandas as pd

from loadgate.errors import InputDataError

__all__ = [
    "OPTIONAL_STAGE_COLUMNS",
    "STAGE_COLUMNS",
    "read_distribution",
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

OPTIONAL_STAGE_COLUMNS: tuple[str, ...] = (
    "users",
    "target_rps",
    "late_sends",
    "co_p50_ms",
    "co_p95_ms",
    "co_p99_ms",
)
"""Columns newer plugins add: the stage's target users, the target rate of a rate stage,
sends that could not start on time, and latency from the intended send time. A table
without them reads them as NaN."""

AGGREGATED = "Aggregated"
"""The name Locust gives the whole-run row (``Total`` before Locust 0.13.3)."""

_CODE_PAGES = ("gb18030", "cp949", "big5", "cp932", "cp1252", "cp1251", "cp1250")
"""Code pages Locust writes on Windows in the locales seen so far, likeliest first."""
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
_DISTRIBUTION = _Kind(
    aliases={"name": "name", "# requests": "requests", "request count": "requests"},
    required=("name", "requests"),
    text=frozenset({"name"}),
    counts=("requests",),
    percentiles=True,
    header=("Name", "# requests", *_PERCENTILE_HEADER),
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
    table = _read_table(path, _STATS, missing_ok)
    names = _column_names(path, table.header, _STATS)
    if "method" not in names and "name" in names and "requests" in names:
        raise InputDataError(
            f"{path}: this is a Locust 0.x response-time distribution "
            "(*_distribution.csv), not a stats file; read the *_requests.csv beside it"
        )
    return _mark_aggregated(_normalised(table, _STATS))


def read_distribution(path: Path) -> pd.DataFrame:
    """Read a Locust 0.x ``*_distribution.csv`` file (percentiles per request).

    Those files merge method and name into one column (``GET /rooms``) and call the
    whole-run row ``Total``; both are split back apart here.

    Args:
        path: The CSV file.

    Returns:
        ``method``, ``name``, ``requests``, one ``p<digits>_ms`` column per percentile
        and ``aggregated``.

    Raises:
        InputDataError: As for :func:`read_stats`.
    """
    frame = _normalised(_read_table(path), _DISTRIBUTION)
    merged = frame["name"].str.strip()
    parts = merged.str.split(" ", n=1, expand=True).reindex(columns=[0, 1])
    has_method = parts[1].notna() & parts[0].str.isupper()
    frame = frame.assign(
        method=parts[0].where(has_method, ""),
        name=parts[1].where(has_method, merged),
    )
    return _mark_aggregated(frame)


def read_stats_history(
    path: Path,
    *,
    missing_ok: bool = False,
    columns: Collection[str] | None = None,
    aggregated_only: bool = False,
) -> pd.DataFrame:
    """Read a Locust ``*_stats_history.csv`` file, fast enough for a day of samples.

    Args:
        path: The CSV file.
        missing_ok: Return an empty frame (and log a warning) if the file is absent.
        columns: Read only these normalised columns (plus ``timestamp``, ``method``
            and ``name``); all when None. Columns the file lacks are left out.
        aggregated_only: Parse only the ``Aggregated`` rows (a full history has one
            per endpoint as well, 20 times as many); every line's field count is
            still checked.

    Returns:
        One row per sample, ``N/A`` cells as NaN; columns as in the module docstring.
        ``method`` and ``name`` are categorical.

    Raises:
        InputDataError: As for :func:`read_stats`.
    """
    if missing_ok and not path.exists():
        logger.warning("CSV not found: %s; it is read as an empty table", path)
        table = _Table(path=path, header=list(_HISTORY.header), rows=[], lines=[])
        return _mark_aggregated(_normalised(table, _HISTORY))

    header = _first_record(path)
    names = _column_names(path, header, _HISTORY)
    _require(path, header, names, _HISTORY.required)
    wanted = [
        index
        for index, name in enumerate(names)
        if columns is None or name in {*columns, "timestamp", "method", "name"}
    ]
    frame = _read_large(path, header, names, wanted, aggregated_only)
    if aggregated_only:
        frame = frame[frame["name"].isin((AGGREGATED, "Total"))].reset_index(drop=True)
    if "method" not in frame.columns:
        frame["method"] = pd.Categorical([""] * len(frame))
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
        The columns of :data:`STAGE_COLUMNS` and :data:`OPTIONAL_STAGE_COLUMNS`
        (NaN where the file lacks them): counts as int64, times and latencies as
        float64 (NaN where the stage had no requests), text as str.

    Raises:
        InputDataError: The file is missing, unreadable, truncated, lacks one of
            :data:`STAGE_COLUMNS`, or a row is inconsistent (an empty stage or
            endpoint, more failures than requests).
    """
    table = _read_table(path)
    header = [name.strip() for name in table.header]
    _require(path, table.header, header, STAGE_COLUMNS)

    frame = pd.DataFrame(table.rows, columns=header, dtype=object)
    for column in header:
        if column in _STAGE_TEXT:
            frame[column] = frame[column].astype(str).str.strip()
        elif column in STAGE_COLUMNS or column in OPTIONAL_STAGE_COLUMNS:
            frame[column] = _numbers(table, frame, column, column)
    for column in _STAGE_COUNTS:
        frame[column] = _whole(table, frame, column, column)
    for column in OPTIONAL_STAGE_COLUMNS:
        if column not in frame.columns:
            frame[column] = float("nan")

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
        encoding = _guess_encoding(path, data, error.start)
        text = data.decode(encoding, errors="replace").removeprefix("\ufeff")
    # Windows text-mode files get an extra \r before the csv module's \r\n.
    return text.replace("\r\r\n", "\r\n")


def _guess_encoding(path: Path, data: bytes, bad_byte: int) -> str:
    """Guess the Windows code page of a file that is not UTF-8, and say so.

    Locust on Windows writes names and errors in the locale's code page (GBK, CP949,
    ...); charset-normalizer picks the likeliest of those. A short non-ASCII text may
    be guessed wrongly, so the guess is logged.
    """
    found = charset_normalizer.from_bytes(data, cp_isolation=list(_CODE_PAGES)).best()
    encoding = found.encoding if found is not None else "utf-8"
    logger.warning(
        "CSV is not UTF-8: %s (byte %s); decoded as %s, a guess%s",
        path,
        bad_byte,
        encoding,
        "" if found is not None else "; undecodable bytes are shown as U+FFFD",
    )
    return encoding


def _normalised(table: _Table, kind: _Kind) -> pd.DataFrame:
    """Rename a Locust table's columns and convert its numeric cells."""
    header = _column_names(table.path, table.header, kind)
    _require(table.path, table.header, header, kind.required)

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


def _column_names(path: Path, header: Sequence[str], kind: _Kind) -> list[str]:
    """Map each header cell to its normalised column name."""
    names: list[str] = []
    for cell in header:
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
            f"{path}: the header names column(s) {', '.join(duplicates)} more "
            f"than once: {list(header)!r}"
        )
    return names


def _is_numeric(column: str, kind: _Kind) -> bool:
    """Tell whether a normalised column holds numbers (unknown columns stay text)."""
    if column in kind.text:
        return False
    if kind.percentiles and _PERCENTILE_COLUMN.match(column):
        return True
    return column in kind.aliases.values()


def _require(
    path: Path,
    header: Sequence[str],
    names: Sequence[str],
    required: Collection[str],
) -> None:
    """Raise unless every required column is among the header's normalised names."""
    missing = [column for column in required if column not in names]
    if missing:
        raise InputDataError(
            f"{path}: missing column(s) {', '.join(missing)}; "
            f"the header is {', '.join(header)}"
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
    """Name the whole-run row ``Aggregated`` with an empty method, and flag it.

    Categorical columns (a long history) are rewritten through their categories, so
    the cost does not grow with the number of rows.
    """
    method = frame["method"].map(_method_text)
    aggregated = method.eq("") & frame["name"].isin((AGGREGATED, "Total"))
    name = frame["name"]
    if isinstance(name.dtype, pd.CategoricalDtype):
        name = name.map(lambda value: AGGREGATED if value == "Total" else value)
    else:
        name = name.where(~aggregated, AGGREGATED)
    return frame.assign(method=method, name=name, aggregated=aggregated)


def _method_text(value: object) -> str:
    """Locust's request type, with ``None`` (old whole-run rows) and NaN as empty."""
    text = "" if value is None or value != value else str(value).strip()
    return "" if text == "None" else text


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


_HISTORY_NA = ["", "N/A", "NaN", "nan"]
_NEWLINE = ord("\n")
_BLOCK_BYTES = 16 << 20
_COMMA = ord(",")
_TAIL_BYTES = 65536
_BAD_LINE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _first_record(path: Path) -> list[str]:
    """Return a file's header record, read from its first bytes only."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_TAIL_BYTES)
    except FileNotFoundError:
        raise InputDataError(f"{path}: file not found") from None
    except OSError as error:
        raise InputDataError(
            f"{path}: cannot read the file ({error.strerror})"
        ) from None
    if b"\x00" in head:
        raise InputDataError(f"{path}: the file holds NUL bytes; it is not a text CSV")

    text = head.decode("utf-8-sig", errors="replace").replace("\r\r\n", "\r\n")
    for record in csv.reader(io.StringIO(text, newline="")):
        if record:
            return record
    raise InputDataError(f"{path}: the file is empty; expected a CSV header line")


def _read_large(
    path: Path,
    header: Sequence[str],
    names: Sequence[str],
    wanted: Sequence[int],
    aggregated_only: bool = False,
) -> pd.DataFrame:
    """Parse a large CSV with pandas, then check what pandas lets through."""
    numeric = [index for index in wanted if names[index] not in _HISTORY.text]
    options: dict[str, object] = {
        "usecols": list(wanted),
        "dtype": {index: "category" for index in wanted if index not in numeric},
        "na_values": {index: _HISTORY_NA for index in numeric},
        "keep_default_na": False,
        "on_bad_lines": "error",
        "engine": "c",
        "header": 0,
    }
    lines: np.ndarray[Any, Any] | None = None
    if aggregated_only:
        kept, lines = _check_field_counts(path, len(header), keep=AGGREGATED.encode())
        frame = _parse_large(path, len(header), options, source=kept)
    else:
        # numpy and pandas' tokenizer both release the GIL: check while parsing.
        with ThreadPoolExecutor(max_workers=1) as pool:
            checked = pool.submit(_check_field_counts, path, len(header))
            frame = _parse_large(path, len(header), options)
            checked.result()
    frame.columns = [names[index] for index in wanted]
    for index in numeric:
        column = names[index]
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = _large_numbers(path, frame[column], header[index], lines)
        frame[column] = frame[column].astype("float64")
    return frame


def _parse_large(
    path: Path,
    width: int,
    options: Mapping[str, object],
    source: bytes | None = None,
) -> pd.DataFrame:
    """Run :func:`pandas.read_csv`, as UTF-8 or else in the code page guessed.

    ``source`` is the text to parse when it is not the whole file (some lines of it,
    header first).
    """
    try:
        return _pandas_read(path, width, options, "utf-8-sig", "strict", source)
    except UnicodeDecodeError:
        data = path.read_bytes() if source is None else source
        try:
            data.decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError as error:
            encoding = _guess_encoding(path, data, error.start)
        return _pandas_read(path, width, options, encoding, "replace", source)


def _pandas_read(
    path: Path,
    width: int,
    options: Mapping[str, object],
    encoding: str,
    errors: str,
    source: bytes | None = None,
) -> pd.DataFrame:
    """Call :func:`pandas.read_csv`, turning its parse errors into InputDataError."""
    text: Path | io.BytesIO = path if source is None else io.BytesIO(source)
    try:
        return pd.read_csv(  # type: ignore[call-overload, no-any-return]
            text, encoding=encoding, encoding_errors=errors, **options
        )
    except pd.errors.ParserError as error:
        found = _BAD_LINE.search(str(error))
        if found is None:
            reason = str(error).splitlines()[0]
            raise InputDataError(
                f"{path}: not valid CSV ({reason}); the file looks truncated or garbled"
            ) from None
        raise InputDataError(
            f"{path}: line {found.group(2)} has {found.group(3)} fields where the "
            f"header has {width}; the file looks truncated or garbled"
        ) from None
    except OSError as error:
        raise InputDataError(
            f"{path}: cannot read the file ({error.strerror})"
        ) from None


def _check_field_counts(
    path: Path, width: int, keep: bytes | None = None
) -> tuple[bytes, np.ndarray[Any, Any]]:
    """Refuse a record with more or fewer fields than the header.

    pandas pads short records and, reading only some columns, drops extra fields
    without a word, so every line's commas are counted with numpy, a block of the
    file at a time (a day of history takes a fraction of a second and little memory).
    Lines with quotes are split properly before they are blamed; blank lines are
    skipped, as the parser skips them.

    Returns:
        With ``keep``: the header line and every line holding ``keep``, and those
        lines' numbers; else empty.
    """
    scan = _Scan(path, width, keep)
    carry = b""
    with path.open("rb") as handle:
        while True:
            block = handle.read(_BLOCK_BYTES)
            data = carry + block
            if not block:
                if data.strip():
                    scan.lines(data + b"\n")
                break
            cut = data.rfind(b"\n") + 1
            carry = data[cut:]
            scan.lines(data[:cut])
    numbers = np.concatenate(scan.numbers) if scan.numbers else np.zeros(0, "int64")
    return b"".join(scan.kept), numbers


class _Scan:
    """Field counts of a file's lines, block by block, keeping some lines."""

    def __init__(self, path: Path, width: int, keep: bytes | None) -> None:
        self.path = path
        self.width = width
        self.keep = None if keep is None else re.compile(re.escape(keep))
        self.seen = 0
        self.kept: list[bytes] = []
        self.numbers: list[np.ndarray[Any, Any]] = []

    def lines(self, chunk: bytes) -> None:
        """Check whole lines (each ending in a newline)."""
        if not chunk:
            return
        data = np.frombuffer(chunk, dtype=np.uint8)
        ends = np.flatnonzero(data == _NEWLINE)
        starts = np.concatenate(([0], ends[:-1] + 1))
        # Most blocks hold exactly width - 1 commas per line: then no line is short
        # or long (unless two errors cancel out within one block).
        expected = (self.width - 1) * len(ends)
        if np.count_nonzero(data == _COMMA) == expected:
            suspect = np.zeros(0, dtype="int64")
        else:
            # Commas before each line end, less those before the previous one.
            before = np.searchsorted(np.flatnonzero(data == _COMMA), ends)
            commas = np.diff(before, prepend=0)
            suspect = np.flatnonzero((commas != self.width - 1) & (ends - starts > 1))
        for index in suspect:
            line = self.seen + int(index) + 1
            self.recount(chunk[starts[index] : ends[index]], line)
        if self.keep is not None:
            self.keep_lines(self.keep, chunk, starts, ends)
        self.seen += len(ends)

    def recount(self, raw: bytes, line: int) -> None:
        """Split a suspect line as CSV and refuse it if its width is wrong."""
        text = raw.decode("utf-8", errors="replace").strip()
        fields = len(next(csv.reader([text]), []))
        if text and fields != self.width:
            raise InputDataError(
                f"{self.path}: line {line} has {fields} fields where the header has "
                f"{self.width}; the file looks truncated or garbled"
            )

    def keep_lines(
        self,
        pattern: re.Pattern[bytes],
        chunk: bytes,
        starts: np.ndarray[Any, Any],
        ends: np.ndarray[Any, Any],
    ) -> None:
        """Keep the header and the lines that hold the pattern, with their numbers."""
        found = np.array([m.start() for m in pattern.finditer(chunk)], dtype="int64")
        rows = np.unique(np.searchsorted(ends, found))
        if self.seen == 0:
            self.kept.append(chunk[starts[0] : ends[0] + 1])
            rows = rows[rows > 0]
        self.kept.extend(chunk[starts[row] : ends[row] + 1] for row in rows)
        self.numbers.append(rows + self.seen + 1)


def _large_numbers(
    path: Path, cells: pd.Series, label: str, lines: np.ndarray[Any, Any] | None
) -> pd.Series:
    """Convert a column pandas left as text; report the first cell that is no number.

    ``lines`` holds the line number of each row when only some lines were parsed.
    """
    values = pd.to_numeric(cells, errors="coerce")
    bad = values.isna() & cells.notna()
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        line = (
            _line_of_record(path, position) if lines is None else int(lines[position])
        )
        raise InputDataError(
            f"{path}: line {line}: column {label.strip()!r} "
            f"holds {str(cells.iloc[position])!r}; expected a number or N/A"
        )
    return values


def _line_of_record(path: Path, position: int) -> int:
    """Return the line a data record ends on (0 is the first record after the header)."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text.replace("\r\r\n", "\r\n"), newline=""))
    seen = -1
    for record in reader:
        if record:
            seen += 1
        if seen == position + 1:
            break
    return reader.line_num
