"""``loadgate report`` on a run directory, a Locust CSV prefix, and with baselines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from reporting_helpers import DEMO_DIR, shifted_copy, stopped_copy

from loadgate.cli import main
from reporting.run import LOCUST_CSV_SUFFIXES

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "locust-csv-corpus"


def test_report_of_a_locust_prefix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("XFJ__example_stats.csv", "XFJ__example_failures.csv"):
        shutil.copy(CORPUS / name, tmp_path / name.replace("XFJ__example", "xfj"))

    code = main(["report", str(tmp_path / "xfj")])

    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith("loadgate xfj against unknown (plain Locust CSVs)")
    # Beside the CSVs, in a folder of the prefix's own: other prefixes may share it.
    out_dir = tmp_path / "xfj-report"
    assert f"report: {out_dir / 'report.html'}" in out
    for name in ("report.html", "summary.json", "junit.xml", "summary.md"):
        assert (out_dir / name).is_file()
    assert not (tmp_path / "report.html").exists()
    assert err.splitlines()[0].startswith("report: read xfj (0 history rows) in ")
    summary = json.loads((out_dir / "summary.json").read_text(encoding="utf-8"))
    assert summary["run"]["missing_files"] == [
        "xfj_stats_history.csv",
        "xfj_exceptions.csv",
    ]


def test_report_of_a_missing_prefix_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["report", str(tmp_path / "nothing")])
    assert code == 2
    assert capsys.readouterr().err == (
        f"error: {tmp_path / 'nothing'}: not a run directory, nor the prefix of Locust "
        "CSV files (no nothing_stats.csv beside it)\n"
    )


def test_report_of_a_run_directory_without_its_failures_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    shutil.copytree(DEMO_DIR, run_dir)
    (run_dir / "loadgate_failures.csv").unlink()

    code = main(["report", str(run_dir)])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        f"error: {run_dir / 'loadgate_failures.csv'}: file not found; every loadgate "
        "run writes it (the failed requests and their errors), so this run directory "
        "is incomplete: copy the whole directory, or run again\n"
    )
    assert not (run_dir / "report.html").exists()


def test_report_of_a_stopped_run_keeps_its_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = stopped_copy(tmp_path / "run")

    code = main(["report", str(run_dir)])

    out = capsys.readouterr().out
    assert code == 0
    assert out.splitlines()[0] == (
        "loadgate demo against http://127.0.0.1:8080: 2 of 4 stages ran, stopped early"
    )
    heading = (run_dir / "summary.md").read_text(encoding="utf-8").splitlines()[0]
    assert heading.startswith(
        "## :warning: loadgate PASS (stopped early: ran Light and 5.6 s of Medium; "
    )


@pytest.mark.parametrize(
    ("flag", "code"),
    [
        pytest.param([], 0, id="regression-alone-passes"),
        pytest.param(["--fail-on-regression"], 1, id="flag-fails-it"),
    ],
)
def test_baseline_comparison_on_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str], code: int
) -> None:
    slower = shifted_copy(tmp_path / "slower", "get_me", 200.0)
    facts = json.loads((slower / "run.json").read_text(encoding="utf-8"))
    (slower / "run.json").write_text(json.dumps(facts | {"thresholds": []}))

    assert main(["report", str(slower), "--baseline", str(DEMO_DIR), *flag]) == code
    out = capsys.readouterr().out
    assert "COMPARED WITH run_demo: 4 regressed, 0 improved, 20 same" in out
    assert "REGRESSED Light / get_me: p50_ms 25.00 -> 225.00" in out
    assert out.count("PASS: no thresholds to check") == 1


CORPUS_FILES = sorted(path.name for path in CORPUS.glob("*.csv"))


def _corpus_prefix(name: str) -> str:
    """The ``--csv`` prefix of a corpus file's name."""
    return next(name[: -len(s)] for s in LOCUST_CSV_SUFFIXES if name.endswith(s))


@pytest.mark.parametrize("name", CORPUS_FILES, ids=CORPUS_FILES)
def test_report_of_a_locust_csv_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    prefix = _corpus_prefix(name)
    for suffix in LOCUST_CSV_SUFFIXES:
        if (CORPUS / (prefix + suffix)).is_file():
            shutil.copy(CORPUS / (prefix + suffix), tmp_path / (prefix + suffix))
    has_stats = any(
        (tmp_path / (prefix + suffix)).is_file()
        for suffix in ("_stats.csv", "_requests.csv")
    )

    code = main(["report", str(tmp_path / name)])

    out, err = capsys.readouterr()
    if not has_stats:
        assert (code, out) == (2, "")
        assert err == (
            f"error: {tmp_path / name}: a Locust CSV, but no {prefix}_stats.csv (or "
            f"0.x {prefix}_requests.csv) beside it, which a report needs\n"
        )
        return
    assert code in (0, 1), err
    assert "Traceback" not in err
    summary_path = tmp_path / f"{prefix}-report" / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    assert summary["run"]["scenario"] == prefix


def test_corpus_has_csv_files_without_a_stats_file() -> None:
    orphans = [
        name
        for name in CORPUS_FILES
        if not any(
            (CORPUS / (_corpus_prefix(name) + s)).is_file()
            for s in ("_stats.csv", "_requests.csv")
        )
    ]
    assert len(CORPUS_FILES) == 43
    assert len(orphans) == 8


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param(
            "_stats.csv",
            "a Locust CSV with an empty --csv prefix; rename the files (e.g. to "
            "run_stats.csv) and give that path",
            id="empty-prefix",
        ),
        pytest.param(
            "notes.txt",
            "a file, but not a Locust CSV (its name does not end in "
            "_stats_history.csv, _stats.csv, _failures.csv, _exceptions.csv, "
            "_requests.csv, _distribution.csv); give a run directory, a Locust --csv "
            "prefix or one of its CSV files",
            id="not-a-locust-csv",
        ),
    ],
)
def test_report_of_an_unusable_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    (tmp_path / name).write_text("x\n", encoding="utf-8")

    code = main(["report", str(tmp_path / name)])

    assert code == 2
    assert capsys.readouterr().err == f"error: {tmp_path / name}: {message}\n"
