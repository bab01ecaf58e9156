"""Loading a run directory: the demo run, and every way a run directory can be broken."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from loadgate.errors import InputDataError
from loadgate.scenarios import Threshold
from reporting import Run, StageRun, evaluate, load_run, render_console, write_report


def test_demo_run_facts(demo_run: Run) -> None:
    facts = demo_run.facts
    assert facts.scenario == "demo"
    assert facts.host == "http://127.0.0.1:8080"
    assert (facts.locust_version, facts.loadgate_version) == ("2.47.0", "0.1.0")
    assert facts.started_at == 1767261600.0
    assert facts.duration_s == 61.0
    assert (facts.workers, facts.stopped_early, facts.fatal_error) == (0, False, None)


def test_demo_run_stages_and_thresholds(demo_run: Run) -> None:
    assert [stage.name for stage in demo_run.stages] == [
        "Light",
        "Medium",
        "Heavy",
        "Peak",
    ]
    assert [stage.users for stage in demo_run.stages] == [10, 50, 100, 200]
    assert all(stage.ran for stage in demo_run.stages)
    assert demo_run.stages[3].elapsed_s == pytest.approx(15.0)
    assert demo_run.thresholds[3] == Threshold(
        "throughput_rpm", "at_least", 10000.0, ("Peak",), ("total",)
    )


def test_demo_stage_table_types_and_values(demo_run: Run) -> None:
    table = demo_run.stage_stats
    assert table.shape == (28, 24)
    assert (
        table["users"].tolist() == [10.0] * 7 + [50.0] * 7 + [100.0] * 7 + [200.0] * 7
    )
    assert table["target_rps"].isna().all()
    assert str(table["requests"].dtype) == "int64"
    assert str(table["p95_ms"].dtype) == "float64"

    heavy_post = table[
        (table["stage"] == "Heavy") & (table["endpoint"] == "post_message")
    ]
    assert heavy_post[["requests", "failures"]].iloc[0].tolist() == [250, 13]
    assert heavy_post["name"].iloc[0] == "/api/v1/rooms/{room_id}/messages"


def test_demo_locust_tables(demo_run: Run) -> None:
    stats = demo_run.stats
    aggregated = stats[stats["aggregated"]]
    assert aggregated[["method", "name", "requests", "failures"]].iloc[0].tolist() == [
        "",
        "Aggregated",
        4815,
        17,
    ]
    assert demo_run.failures["occurrences"].tolist() == [15, 2]
    assert demo_run.failures["first_seen"].iloc[0] == "2026-01-01T10:00:34Z"
    assert demo_run.exceptions.empty
    assert len(demo_run.history) == 13
    assert demo_run.history["total_requests"].iloc[-1] == 4815


def test_missing_stage_table(run_dir: Path) -> None:
    (run_dir / "loadgate_stages.csv").unlink()
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == f"{run_dir / 'loadgate_stages.csv'}: file not found"


def test_missing_run_json_falls_back_to_locust_csvs(
    run_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (run_dir / "run.json").unlink()
    with caplog.at_level(logging.WARNING, logger="reporting.run"):
        run = load_run(run_dir)

    assert caplog.messages == [
        f"{run_dir}: no run.json; read as the plain Locust CSVs loadgate_*.csv"
    ]
    assert (run.source, [s.name for s in run.stages]) == ("locust", ["Whole run"])
    assert run.stage_stats["requests"].iloc[-1] == 4815
    assert run.stages[0].users == 200


def test_missing_run_json_and_csvs(run_dir: Path) -> None:
    for path in run_dir.iterdir():
        path.unlink()
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == f"{run_dir / 'run.json'}: file not found"


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputDataError) as caught:
        load_run(tmp_path / "nope")
    assert str(caught.value) == (
        f"{tmp_path / 'nope'}: not a run directory, nor the prefix of Locust CSV "
        "files (no nope_stats.csv beside it)"
    )


def test_truncated_stage_table(run_dir: Path) -> None:
    path = run_dir / "loadgate_stages.csv"
    data = path.read_bytes()
    # Cut the file inside its last row (line 29), after the failures field.
    cut = data.rindex(b",2660,3,") + len(b",2660,3")
    path.write_bytes(data[:cut])

    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == (
        f"{path}: line 29 has 9 fields where the header has 18; "
        "the file looks truncated or garbled"
    )


def test_stage_table_cut_between_rows(run_dir: Path) -> None:
    path = run_dir / "loadgate_stages.csv"
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))

    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == (
        f"{path}: stage 'Peak' ran but has no 'total' row; the file looks truncated"
    )


def test_unterminated_quote(run_dir: Path) -> None:
    path = run_dir / "loadgate_failures.csv"
    path.write_text('Method,Name,Error,Occurrences\r\nGET,/x,"boom,3\r\n')

    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == (
        f"{path}: line 2 is not valid CSV (unexpected end of data); "
        "the file looks truncated or garbled"
    )


def test_garbled_number(run_dir: Path) -> None:
    path = run_dir / "loadgate_stats.csv"
    path.write_text(path.read_text().replace("GET,/health,353,", "GET,/health,3x3,"))

    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == (
        f"{path}: line 6: column 'Request Count' holds '3x3'; expected a number or N/A"
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b"", "the file is empty; expected a CSV header line", id="empty"),
        pytest.param(
            b"stage,endpoint\r\n",
            "missing column(s) stage_index, stage_start, stage_end, method, name, "
            "requests, failures, min_ms, mean_ms, max_ms, p50_ms, p90_ms, p95_ms, "
            "p99_ms, p999_ms, throughput_rps; the header is stage, endpoint",
            id="wrong-header",
        ),
        pytest.param(
            b"\x00\x01\x02",
            "the file holds NUL bytes; it is not a text CSV",
            id="binary",
        ),
    ],
)
def test_broken_stage_table(run_dir: Path, content: bytes, reason: str) -> None:
    path = run_dir / "loadgate_stages.csv"
    path.write_bytes(content)
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == f"{path}: {reason}"


def test_more_failures_than_requests(run_dir: Path) -> None:
    path = run_dir / "loadgate_stages.csv"
    path.write_text(path.read_text().replace("/health,10,0,", "/health,10,11,"))
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == f"{path}: line 2: failures (11) exceed requests (10)"


def test_stage_unknown_to_run_json(run_dir: Path) -> None:
    path = run_dir / "loadgate_stages.csv"
    path.write_text(path.read_text().replace(",Peak,", ",Extreme,"))
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == (
        f"{path}: stage 'Extreme' is not a stage of run.json (Light, Medium, Heavy, Peak)"
    )


def test_truncated_run_json(run_dir: Path) -> None:
    path = run_dir / "run.json"
    path.write_text(path.read_text()[:200])
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == (
        f"{path}: not valid JSON (Unterminated string starting at: line 9, column 3); "
        "the file looks truncated or garbled"
    )


@pytest.mark.parametrize(
    ("key_path", "value", "reason"),
    [
        pytest.param(
            ("stages", 2, "users"), "many", "got 'many'; expected a number", id="users"
        ),
        pytest.param(
            ("workers",), 1.5, "got 1.5; expected a whole number >= 0", id="workers"
        ),
        pytest.param(
            ("stopped_early",), "no", "got 'no'; expected true or false", id="flag"
        ),
        pytest.param(
            ("thresholds", 1, "metric"),
            "p95",
            "got 'p95'; expected one of mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, max_ms, "
            "availability_pct, error_rate_pct, throughput_rps, throughput_rpm",
            id="metric",
        ),
        pytest.param(
            ("thresholds", 0, "op"),
            "under",
            "got 'under'; expected 'below' or 'at_least'",
            id="op",
        ),
    ],
)
def test_bad_run_json_value(
    run_dir: Path, key_path: tuple[str | int, ...], value: object, reason: str
) -> None:
    path = run_dir / "run.json"
    document = json.loads(path.read_text())
    target = document
    for key in key_path[:-1]:
        target = target[key]
    target[key_path[-1]] = value
    path.write_text(json.dumps(document))

    where = "".join(
        f"[{key}]" if isinstance(key, int) else f".{key}" for key in key_path
    ).lstrip(".")
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert str(caught.value) == f"{path}: {where}: {reason}"


def test_missing_run_json_key(run_dir: Path) -> None:
    path = run_dir / "run.json"
    document = json.loads(path.read_text())
    del document["stages"][1]["duration_s"]
    path.write_text(json.dumps(document))
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)
    assert (
        str(caught.value) == f"{path}: stages[1].duration_s: missing key 'duration_s'"
    )


def test_host_credentials_never_kept(run_dir: Path) -> None:
    path = run_dir / "run.json"
    document = json.loads(path.read_text())
    document["host"] = "https://tester:s3cret@api.example.com:8443/v1"
    path.write_text(json.dumps(document))
    assert load_run(run_dir).facts.host == "https://***@api.example.com:8443/v1"


@pytest.mark.parametrize(
    ("name", "what"),
    [
        pytest.param("loadgate_stats.csv", "Locust's request statistics", id="stats"),
        pytest.param(
            "loadgate_stats_history.csv", "the statistics over time", id="history"
        ),
        pytest.param(
            "loadgate_failures.csv",
            "the failed requests and their errors",
            id="failures",
        ),
        pytest.param(
            "loadgate_exceptions.csv",
            "the exceptions the load test raised",
            id="exceptions",
        ),
    ],
)
def test_missing_locust_csv_of_a_run_directory(
    run_dir: Path, caplog: pytest.LogCaptureFixture, name: str, what: str
) -> None:
    (run_dir / name).unlink()
    with pytest.raises(InputDataError) as caught, caplog.at_level(logging.WARNING):
        load_run(run_dir)

    assert str(caught.value) == (
        f"{run_dir / name}: file not found; every loadgate run writes it ({what}), so "
        "this run directory is incomplete: copy the whole directory, or run again"
    )
    assert caplog.messages == []


def test_missing_locust_csvs_of_a_run_directory_are_named_together(
    run_dir: Path,
) -> None:
    (run_dir / "loadgate_stats_history.csv").unlink()
    (run_dir / "loadgate_failures.csv").unlink()
    with pytest.raises(InputDataError) as caught:
        load_run(run_dir)

    assert str(caught.value) == (
        f"{run_dir}: loadgate_stats_history.csv and loadgate_failures.csv not found; "
        "every loadgate run writes them (the statistics over time; the failed requests "
        "and their errors), so this run directory is incomplete: copy the whole "
        "directory, or run again"
    )


def test_missing_optional_csvs_of_plain_locust_csvs_are_named(
    run_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (run_dir / "run.json").unlink()
    (run_dir / "loadgate_failures.csv").unlink()
    (run_dir / "loadgate_exceptions.csv").unlink()
    with caplog.at_level(logging.WARNING, logger="reporting"):
        run = load_run(run_dir)

    assert run.source == "locust"
    assert run.facts.missing_files == (
        "loadgate_failures.csv",
        "loadgate_exceptions.csv",
    )
    assert run.facts.to_dict()["missing_files"] == [
        "loadgate_failures.csv",
        "loadgate_exceptions.csv",
    ]
    assert run.failures.empty
    assert list(run.failures.columns) == [
        "method",
        "name",
        "error",
        "occurrences",
        "first_seen",
        "last_seen",
    ]
    assert caplog.messages[1:] == [
        f"CSV not found: {run_dir / name}; it is read as an empty table"
        for name in ("loadgate_failures.csv", "loadgate_exceptions.csv")
    ]


def test_stage_that_never_ran(run_dir: Path) -> None:
    path = run_dir / "run.json"
    document = json.loads(path.read_text())
    document["stages"][3].update(start=None, end=None)
    document["stopped_early"] = True
    path.write_text(json.dumps(document))
    table = run_dir / "loadgate_stages.csv"
    lines = table.read_text().splitlines(keepends=True)
    table.write_text("".join(line for line in lines if ",Peak," not in line))

    run = load_run(run_dir)
    assert [stage.ran for stage in run.stages] == [True, True, True, False]
    assert run.stages[3].elapsed_s is None
    assert set(run.stage_stats["stage"]) == {"Light", "Medium", "Heavy"}


def test_run_that_never_started(run_dir: Path, tmp_path: Path) -> None:
    path = run_dir / "run.json"
    document = json.loads(path.read_text())
    document.update(started_at=None, ended_at=None, fatal_error="sign-in refused")
    for stage in document["stages"]:
        stage.update(start=None, end=None)
    path.write_text(json.dumps(document))
    table = run_dir / "loadgate_stages.csv"
    table.write_text(table.read_text().splitlines(keepends=True)[0])

    run = load_run(run_dir)
    assert (run.facts.started_at, run.facts.duration_s) == (None, None)
    assert run.facts.fatal_error == "sign-in refused"
    assert not any(stage.ran for stage in run.stages)
    assert run.stage_stats.empty
    verdicts = evaluate(run)
    assert len(verdicts) == 3 * 4 + 1
    assert {verdict.status for verdict in verdicts} == {"no_data"}
    assert write_report(run, verdicts, tmp_path / "out").report_html.is_file()
    assert render_console(run, verdicts).splitlines()[:2] == [
        "loadgate demo against http://127.0.0.1:8080: 0 of 4 stages ran",
        "fatal error: sign-in refused",
    ]


START = 1767261600.0


def stages_of(
    *spans: tuple[float, float | None] | None, planned: float = 15.0
) -> tuple[StageRun, ...]:
    """Stages Light..Peak; a span is (start offset, seconds run or None)."""
    names = ("Light", "Medium", "Heavy", "Peak")
    return tuple(
        StageRun(
            index,
            name,
            10,
            10.0,
            planned,
            None if span is None else START + span[0],
            None if span is None or span[1] is None else START + span[0] + span[1],
        )
        for index, (name, span) in enumerate(zip(names, spans, strict=True))
    )


@pytest.mark.parametrize(
    ("stages", "text"),
    [
        pytest.param(
            stages_of((0, 15), (15, 5.6), None, None),
            "ran Light and 5.6 s of Medium; Heavy, Peak never ran",
            id="mid-stage",
        ),
        pytest.param(
            stages_of((0, 4.25), None, None, None),
            "ran 4.2 s of Light; Medium, Heavy, Peak never ran",
            id="first-stage",
        ),
        pytest.param(
            stages_of((0, 15), (15, 14.98), None, None),
            "ran Light and Medium; Heavy, Peak never ran",
            id="at-a-stage-end",
        ),
        pytest.param(
            stages_of((0, 15), (15, 15), (30, 15), (45, 15)),
            "ran Light, Medium, Heavy and Peak",
            id="every-stage-in-full",
        ),
        pytest.param(
            stages_of((0, 600), (600, 125.4), None, None, planned=600),
            "ran Light and 2 min 05 s of Medium; Heavy, Peak never ran",
            id="minutes",
        ),
        pytest.param(
            stages_of((0, 15), (15, 15), (30, 15), (45, 9)),
            "ran Light, Medium, Heavy and 9.0 s of Peak",
            id="last-stage",
        ),
        pytest.param(
            stages_of((0, 15), (15, None), None, None),
            "ran Light and part of Medium; Heavy, Peak never ran",
            id="no-end",
        ),
        pytest.param(stages_of(None, None, None, None), "no stage ran", id="none"),
    ],
)
def test_interruption_says_how_far_the_run_got(
    demo_run: Run, stages: tuple[StageRun, ...], text: str
) -> None:
    stopped = replace(
        demo_run, stages=stages, facts=replace(demo_run.facts, stopped_early=True)
    )
    assert stopped.interruption == text


def test_a_finished_run_has_no_interruption(demo_run: Run) -> None:
    assert demo_run.interruption is None
