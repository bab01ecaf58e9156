"""Locust CSV readers: header variants across Locust versions, and the real-world corpus."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from loadgate.errors import InputDataError
from reporting import (
    load_run,
    read_distribution,
    read_exceptions,
    read_failures,
    read_stats,
    read_stats_history,
)

# shared/ sits beside the repository, on developer machines and in CI alike.
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "locust-csv-corpus"
STATS_FILES = sorted([*CORPUS.glob("*_stats.csv"), *CORPUS.glob("*_requests.csv")])


def write(tmp_path: Path, content: bytes) -> Path:
    path = tmp_path / "sample.csv"
    path.write_bytes(content)
    return path


def test_corpus_is_there() -> None:
    assert len(STATS_FILES) == 17, f"Locust CSV corpus not found in {CORPUS}"


@pytest.mark.parametrize("path", STATS_FILES, ids=[path.name for path in STATS_FILES])
def test_corpus_stats_file_reads(path: Path) -> None:
    stats = read_stats(path)

    endpoints = stats[~stats["aggregated"]]
    aggregated = stats[stats["aggregated"]]
    assert len(aggregated) == 1
    assert bool(stats["aggregated"].iloc[-1])
    assert aggregated["name"].iloc[0] == "Aggregated"
    assert aggregated["method"].iloc[0] == ""
    assert aggregated["requests"].iloc[0] == endpoints["requests"].sum()
    assert aggregated["failures"].iloc[0] == endpoints["failures"].sum()
    assert (stats["failures"] <= stats["requests"]).all()


def corpus_index() -> list[tuple[str, str, int]]:
    """(file, kind, rows) for every corpus file, from the table in its INDEX.md."""
    index = CORPUS / "INDEX.md"
    if not index.exists():
        return []
    entries = []
    for line in index.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if len(cells) == 6 and cells[0].endswith(".csv"):
            entries.append((cells[0], cells[3].split(" ")[0], int(cells[4])))
    return entries


READERS = {
    "distribution": read_distribution,
    "stats": read_stats,
    "requests": read_stats,
    "stats_history": read_stats_history,
    "failures": read_failures,
    "exceptions": read_exceptions,
}
INDEXED = [entry for entry in corpus_index() if entry[1] in READERS]


def test_corpus_index_lists_the_files() -> None:
    assert len(INDEXED) == 43


DISTRIBUTIONS = [entry for entry in corpus_index() if entry[1] == "distribution"]


@pytest.mark.parametrize(
    ("name", "rows"),
    [(name, rows) for name, _, rows in DISTRIBUTIONS],
    ids=[entry[0] for entry in DISTRIBUTIONS],
)
def test_corpus_distribution_files(name: str, rows: int) -> None:
    frame = read_distribution(CORPUS / name)
    assert len(frame) == rows
    assert frame["aggregated"].tolist() == [False] * (rows - 1) + [True]
    assert set(frame["method"].iloc[:-1]) <= {"GET", "POST", "PUT", "DELETE"}
    assert frame["name"].iloc[-1] == "Aggregated"

    with pytest.raises(InputDataError) as caught:
        read_stats(CORPUS / name)
    assert str(caught.value) == (
        f"{CORPUS / name}: this is a Locust 0.x response-time distribution "
        "(*_distribution.csv), not a stats file; read the *_requests.csv beside it"
    )


ALL_FILES = sorted(CORPUS.glob("*.csv"))


@pytest.mark.parametrize("path", ALL_FILES, ids=[path.name for path in ALL_FILES])
def test_every_corpus_prefix_reports_or_fails_in_one_line(path: Path) -> None:
    """Each file, read through the prefix its name implies, loads as a run."""
    kinds = ("_stats_history.csv", "_stats.csv", "_requests.csv", "_failures.csv")
    kinds += ("_exceptions.csv", "_distribution.csv")
    suffix = next(kind for kind in kinds if path.name.endswith(kind))
    prefix = Path(str(path)[: -len(suffix)])
    try:
        run = load_run(prefix)
    except InputDataError as error:
        message = str(error)
        assert "\n" not in message
        assert message.startswith(str(prefix))
        assert not (prefix.parent / f"{prefix.name}_stats.csv").exists()
        assert not (prefix.parent / f"{prefix.name}_requests.csv").exists()
        return
    assert run.source == "locust"
    assert run.stage_stats["endpoint"].iloc[-1] == "total"


@pytest.mark.parametrize(
    ("name", "kind", "rows"), INDEXED, ids=[entry[0] for entry in INDEXED]
)
def test_corpus_file_reads_every_row(name: str, kind: str, rows: int) -> None:
    assert len(READERS[kind](CORPUS / name)) == rows


HEADER_E = (
    b"Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,"
    b"Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,"
    b"50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%"
)
VALUES_E = (
    b"10,1,42.0,50.5,3.1,120.7,512.0,2.5,0.25,42,50,60,70,90,110,120,120,120,120,120"
)
ROW_E = b"GET,/rooms," + VALUES_E
AGG_E = b",Aggregated," + VALUES_E


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(
            HEADER_E + b"\r\n" + ROW_E + b"\r\n" + AGG_E + b"\r\n", id="2.x-crlf"
        ),
        pytest.param(
            HEADER_E + b"\r\r\n" + ROW_E + b"\r\r\n" + AGG_E + b"\r\r\n",
            id="windows-crcrlf",
        ),
        pytest.param(
            b"\xef\xbb\xbf" + HEADER_E + b"\n" + ROW_E + b"\n" + AGG_E + b"\n\n",
            id="bom-blank-line",
        ),
        pytest.param(HEADER_E + b"\n" + ROW_E + b"\n" + AGG_E, id="no-final-newline"),
        pytest.param(
            b'"Type","Name","# requests","# failures","Median response time",'
            b'"Average response time","Min response time","Max response time",'
            b'"Average Content Size","Requests/s","Requests Failed/s","50%","66%","75%",'
            b'"80%","90%","95%","98%","99%","99.9%","99.99%","99.999","100%"\n'
            b'"GET","/rooms",10,1,42,50.5,3.1,120.7,512,2.5,0.25,42,50,60,70,90,110,120,'
            b"120,120,120,120,120\n"
            b'"None","Aggregated",10,1,42,50.5,3.1,120.7,512,2.5,0.25,42,50,60,70,90,110,'
            b"120,120,120,120,120,120",
            id="0.14-quoted",
        ),
    ],
)
def test_stats_header_variants(tmp_path: Path, content: bytes) -> None:
    stats = read_stats(write(tmp_path, content))

    assert stats[["method", "name", "requests", "failures"]].values.tolist() == [
        ["GET", "/rooms", 10, 1],
        ["", "Aggregated", 10, 1],
    ]
    first = stats.iloc[0]
    assert (first["median_ms"], first["mean_ms"], first["rps"]) == (42.0, 50.5, 2.5)
    assert (first["p50_ms"], first["p95_ms"], first["p999_ms"]) == (42.0, 110.0, 120.0)
    assert first["p100_ms"] == 120.0
    assert stats["aggregated"].tolist() == [False, True]


def test_empty_run_reads_na_as_nan(tmp_path: Path) -> None:
    content = HEADER_E + b"\r\n,Aggregated,0,0,0,0.0,0,0,0,0.0,0.0" + b",N/A" * 11
    stats = read_stats(write(tmp_path, content + b"\r\n"))
    assert stats["requests"].tolist() == [0]
    assert stats["p95_ms"].isna().all()


@pytest.mark.parametrize(
    ("name", "column", "text", "encoding"),
    [
        pytest.param(
            "XFJ__example_stats.csv", "name", "查看影响力榜单", "gb18030", id="gbk"
        ),
        pytest.param(
            "PleaseHug_stress_test__test_failures.csv",
            "error",
            "CatchResponseError('인기 배움일기 조회 실패: 500')",
            "cp949",
            id="cp949",
        ),
    ],
)
def test_code_page_files_are_decoded_with_a_warning(
    caplog: pytest.LogCaptureFixture, name: str, column: str, text: str, encoding: str
) -> None:
    path = CORPUS / name
    reader = read_failures if column == "error" else read_stats
    with caplog.at_level(logging.WARNING, logger="reporting.readers"):
        frame = reader(path)

    assert text in frame[column].tolist()
    (message,) = caplog.messages
    assert message.startswith(f"CSV is not UTF-8: {path} (byte ")
    assert message.endswith(f"decoded as {encoding}, a guess")


def test_failures_with_first_and_last_seen(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b"Method,Name,Error,Occurrences,First Seen,Last Seen\r\r\n"
        b"GET,/,\"ConnectionAbortedError(10053, 'aborted')\",3,"
        b"2026-07-03T16:34:54Z,2026-07-03T16:35:10Z\r\r\n",
    )
    failures = read_failures(path)
    assert failures.to_dict(orient="records") == [
        {
            "method": "GET",
            "name": "/",
            "error": "ConnectionAbortedError(10053, 'aborted')",
            "occurrences": 3,
            "first_seen": "2026-07-03T16:34:54Z",
            "last_seen": "2026-07-03T16:35:10Z",
        }
    ]


def test_header_only_failures_without_newline(tmp_path: Path) -> None:
    failures = read_failures(write(tmp_path, b'"Method","Name","Error","Occurrences"'))
    assert failures.empty
    assert list(failures.columns) == ["method", "name", "error", "occurrences"]


def test_exceptions_with_multiline_traceback(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        b"Count,Message,Traceback,Nodes\r\r\n"
        b'46,Login failed,"  File ""task.py"", line 340, in run\r\n'
        b'    self.execute_next_task()\r\n",local\r\r\n',
    )
    exceptions = read_exceptions(path)
    assert exceptions["count"].tolist() == [46]
    assert exceptions["traceback"].iloc[0] == (
        '  File "task.py", line 340, in run\r\n    self.execute_next_task()\r\n'
    )


def test_history_old_and_new_layouts(tmp_path: Path) -> None:
    new = read_stats_history(
        write(
            tmp_path,
            b"Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,100%,"
            b"Total Request Count,Total Failure Count,Total Median Response Time,"
            b"Total Average Response Time,Total Min Response Time,"
            b"Total Max Response Time,Total Average Content Size\r\n"
            b"1783096465,0,,Aggregated,0.000000,0.000000,N/A,N/A,N/A,0,0,0,0.0,0,0,0\r\n"
            b"1783096470,5,,Aggregated,3.5,0.0,8,100,110,18,1,7,36.0,3.3,107.5,145.6\r\n",
        )
    )
    assert new["user_count"].tolist() == [0, 5]
    assert new["total_requests"].tolist() == [0, 18]
    assert new["p95_ms"].iloc[1] == 100.0
    assert new["aggregated"].all()

    old = read_stats_history(
        write(
            tmp_path,
            b'"Type","Name","Timestamp","# requests","# failures","Requests/s",'
            b'"Requests Failed/s","Median response time","Average response time",'
            b'"Min response time","Max response time","Average Content Size","50%",'
            b'"99.999","100%"\n'
            b'"None","Aggregated","1585750000",1,0,0.5,0.00,0,0,0,910.46,233.00,0,0,0\n',
        )
    )
    assert old["total_requests"].tolist() == [1]
    assert old["total_max_ms"].tolist() == [910.46]
    assert old["p99999_ms"].tolist() == [0.0]
    assert old["method"].tolist() == [""]


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        pytest.param(
            b"12.5", "holds '12.5'; expected a whole number >= 0", id="fraction"
        ),
        pytest.param(b"-3", "holds '-3'; expected a whole number >= 0", id="negative"),
        pytest.param(b"N/A", "holds 'N/A'; expected a whole number >= 0", id="blank"),
        pytest.param(b"many", "holds 'many'; expected a number or N/A", id="text"),
    ],
)
def test_bad_count_names_line_and_column(
    tmp_path: Path, cell: bytes, reason: str
) -> None:
    path = write(
        tmp_path,
        b"Method,Name,Error,Occurrences\r\nGET,/a,boom,1\r\nGET,/b,bang,"
        + cell
        + b"\r\n",
    )
    with pytest.raises(InputDataError) as caught:
        read_failures(path)
    assert str(caught.value) == f"{path}: line 3: column 'Occurrences' {reason}"


HISTORY_HEADER = (
    b"Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,100%,"
    b"Total Request Count,Total Failure Count\r\n"
)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(
            b"1,5,,Aggregated,3.5,0,8,100,110,18,1\r\n2,5,,Aggregated,3.5,0,8",
            "line 3 has 7 fields where the header has 11; the file looks truncated "
            "or garbled",
            id="cut-last-line",
        ),
        pytest.param(
            b"1,5,,Aggregated,3.5,0,8,100,110,18,1,99\r\n",
            "line 2 has 12 fields where the header has 11; the file looks truncated "
            "or garbled",
            id="extra-field",
        ),
        pytest.param(
            b"1,5,,Aggregated,3.5,0,8,100,110,18,1\r\r\n2,5,,Aggregated,3.5,0,lots,"
            b"100,110,19,1\r\r\n",
            "line 3: column '50%' holds 'lots'; expected a number or N/A",
            id="text-in-number-crcrlf",
        ),
    ],
)
def test_history_problems_name_the_line(
    tmp_path: Path, body: bytes, reason: str
) -> None:
    path = write(tmp_path, HISTORY_HEADER + body)
    with pytest.raises(InputDataError) as caught:
        read_stats_history(path)
    assert str(caught.value) == f"{path}: {reason}"


def test_history_reads_only_the_columns_asked_for(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HISTORY_HEADER
        + b"1,5,,Aggregated,3.5,0,N/A,N/A,N/A,0,0\r\n"
        + b"2,5,GET,/rooms,3.5,0.5,8,100,110,18,1\r\n",
    )
    frame = read_stats_history(path, columns=["rps", "p95_ms"])
    assert list(frame.columns) == [
        "timestamp",
        "method",
        "name",
        "rps",
        "p95_ms",
        "aggregated",
    ]
    assert frame["p95_ms"].isna().tolist() == [True, False]
    assert frame["aggregated"].tolist() == [True, False]
    assert frame["method"].astype(str).tolist() == ["", "GET"]


def test_header_only_history(tmp_path: Path) -> None:
    frame = read_stats_history(write(tmp_path, HISTORY_HEADER))
    assert frame.empty
    assert "p95_ms" in frame.columns
