"""CI outputs: junit.xml read back by junitparser, summary.json against its schema."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import junitparser
import pytest
from reporting_helpers import DEMO_DIR, stopped_copy

import reporting
from reporting import Run, analyse, compare, evaluate, generate, write_report
from reporting.ci import summary_markdown

Golden = Callable[[str, str], None]

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "locust-csv-corpus"
SCHEMA = Path(reporting.__file__).parent / "schema" / "summary.schema.json"


@pytest.fixture(scope="module")
def written(demo_run: Run, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ci")
    write_report(
        demo_run, evaluate(demo_run), out, comparison=compare(demo_run, [demo_run])
    )
    return out


def validate(path: Path) -> dict[str, Any]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)
    return document


def test_junit_has_one_testcase_per_threshold(written: Path) -> None:
    xml = junitparser.JUnitXml.fromfile(str(written / "junit.xml"))
    (suite,) = list(xml)
    cases = {case.name: case for case in suite}

    assert list(cases) == [
        "mean_ms < 500",
        "p95_ms < 1000",
        "availability_pct >= 99.9",
        "throughput_rpm >= 10000",
    ]
    assert (suite.name, suite.tests, suite.failures, suite.skipped) == (
        "loadgate.demo",
        4,
        1,
        1,
    )
    assert [case.is_passed for case in cases.values()] == [True, False, False, True]
    (failure,) = cases["availability_pct >= 99.9"].result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message == (
        "5 of 24 checks failed: Heavy/list_messages: measured 99.77 %, limit >= "
        "99.90 %, 440 samples: FAIL"
    )
    assert "Heavy/post_message: measured 94.80 %, limit >= 99.90 %" in failure.text
    (skipped,) = cases["p95_ms < 1000"].result
    assert isinstance(skipped, junitparser.Skipped)
    assert skipped.message.startswith(
        "inconclusive: the limit lies within the measured figure's precision"
    )
    assert [(p.name, p.value) for p in suite.properties()] == [
        ("stopped_early", "false")
    ]


def test_summary_json_matches_its_schema(written: Path) -> None:
    document = validate(written / "summary.json")
    assert document["comparison"]["counts"]["same"] == 24


@pytest.mark.parametrize(
    "prefix",
    [
        "XFJ__example",
        "ChatOps-LocustIO__example",
        "SoY-locust__SoyMonoShorterIfLogin_ctrl_x1",
    ],
    ids=["gbk-full", "0.x-requests", "empty-run"],
)
def test_summary_of_plain_locust_csvs_matches_the_schema(
    tmp_path: Path, prefix: str
) -> None:
    made = generate(CORPUS / prefix, tmp_path)
    document = validate(made.paths.summary_json)
    assert document["run"]["source"] == "locust"
    assert [stage["name"] for stage in document["stages"]] == ["Whole run"]


@pytest.mark.parametrize(
    ("kept", "heading"),
    [
        ({"pass"}, "## :white_check_mark: loadgate PASS"),
        ({"pass", "fail"}, "## :x: loadgate FAIL"),
        (set(), "## :warning: loadgate INCONCLUSIVE"),
    ],
    ids=["pass", "fail", "inconclusive"],
)
def test_summary_markdown_heading_marks_each_status(
    demo_run: Run, kept: set[str], heading: str
) -> None:
    # Only the checks of the kept statuses stay decided; the rest had too few samples.
    verdicts = [
        v if v.status in kept else dataclasses.replace(v, status="insufficient_data")
        for v in evaluate(demo_run)
    ]
    text = summary_markdown(demo_run, verdicts, analyse(demo_run), None, "report.html")
    assert text.splitlines()[0] == f"{heading}: demo against http://127.0.0.1:8080"


def test_summary_markdown_escapes_names(demo_run: Run) -> None:
    verdicts = evaluate(demo_run)
    text = summary_markdown(demo_run, verdicts, analyse(demo_run), None, "report.html")
    lines = text.splitlines()
    assert lines[0] == ("## :x: loadgate FAIL: demo against http://127.0.0.1:8080")
    assert lines[2] == (
        "5 failed, 1 inconclusive, 21 with insufficient data, 46 passed"
    )
    assert (
        "| p95_ms &lt; 1000 | inconclusive | 0 failed of 24 | 1,000 ms | "
        "Peak / post_message |"
    ) in lines
    assert text.endswith("Full report: `report.html`\n")


@pytest.fixture(scope="module")
def stopped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The CI files of the demo run stopped 5.6 s into Medium."""
    run_dir = stopped_copy(tmp_path_factory.mktemp("stopped") / "run")
    generate(run_dir)
    return run_dir


def test_stopped_run_heads_summary_markdown_with_a_warning(
    stopped: Path, golden: Golden
) -> None:
    text = (stopped / "summary.md").read_text(encoding="utf-8")
    assert text.splitlines()[0] == (
        "## :warning: loadgate PASS (stopped early: ran Light and 5.6 s of Medium; "
        "Heavy, Peak never ran): demo against http://127.0.0.1:8080"
    )
    golden("summary_stopped_early.md", text)


def test_stopped_run_in_junit_is_a_skipped_case_and_a_property(
    stopped: Path, golden: Golden
) -> None:
    xml = junitparser.JUnitXml.fromfile(str(stopped / "junit.xml"))
    (suite,) = list(xml)
    cases = {case.name: case for case in suite}

    assert (suite.tests, suite.failures, suite.skipped) == (5, 0, 2)
    assert [(p.name, p.value) for p in suite.properties()] == [
        ("stopped_early", "true")
    ]
    assert list(cases)[-1] == "all stages ran"
    (skipped,) = cases["all stages ran"].result
    assert isinstance(skipped, junitparser.Skipped)
    assert skipped.message == (
        "stopped early: ran Light and 5.6 s of Medium; Heavy, Peak never ran; only "
        "the stages that ran were judged"
    )
    assert cases["all stages ran"].system_out.splitlines() == [
        "Light: ran 15.0 s of 15.0 s planned",
        "Medium: ran 5.6 s of 15.0 s planned",
        "Heavy: never ran (15.0 s planned)",
        "Peak: never ran (15.0 s planned)",
    ]
    golden("junit_stopped_early.xml", (stopped / "junit.xml").read_text())


def test_stopped_run_summary_json_keeps_its_status(stopped: Path) -> None:
    document = validate(stopped / "summary.json")
    assert (document["status"], document["stopped_early"]) == ("pass", True)
    assert document["run"]["stopped_early"] is True


def test_summary_markdown_names_missing_optional_files(tmp_path: Path) -> None:
    made = generate(CORPUS / "XFJ__example", tmp_path)
    lines = made.paths.summary_md.read_text(encoding="utf-8").splitlines()
    assert lines[:5] == [
        "## :white_check_mark: loadgate PASS: XFJ__example against unknown (plain "
        "Locust CSVs)",
        "",
        "no thresholds to check",
        "",
        "Not found, so read as empty tables: `XFJ__example_exceptions.csv`",
    ]


FATAL = (
    "Cognito sign-in failed for loadtest-user-001@example.com: NotAuthorizedException: "
    "Incorrect username or password."
)


def _edited_copy(target: Path, **changes: Any) -> Path:
    """Copy the demo run with some of ``run.json``'s keys changed."""
    shutil.copytree(DEMO_DIR, target)
    path = target / "run.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps(document | changes), encoding="utf-8")
    return target


def _junit_of(run_dir: Path) -> str:
    generate(run_dir)
    return (run_dir / "junit.xml").read_text(encoding="utf-8")


def test_fatal_run_in_junit_is_a_failed_run_completed_case(
    tmp_path: Path, golden: Golden
) -> None:
    run_dir = _edited_copy(tmp_path / "fatal", fatal_error=FATAL)
    text = _junit_of(run_dir)

    (suite,) = list(junitparser.JUnitXml.fromstring(text))
    cases = {case.name: case for case in suite}
    assert (suite.tests, suite.failures, suite.skipped) == (5, 2, 1)
    assert list(cases)[-1] == "run completed"
    (failure,) = cases["run completed"].result
    assert isinstance(failure, junitparser.Failure)
    assert (failure.type, failure.message, failure.text) == (
        "FatalError",
        "fatal error: " + FATAL,
        FATAL,
    )
    golden("junit_fatal_error.xml", text)


def test_undecided_run_in_junit_is_a_failed_evidence_case(
    tmp_path: Path, golden: Golden
) -> None:
    run_dir = _edited_copy(tmp_path / "undecided", min_samples=1_000_000)
    text = _junit_of(run_dir)

    (suite,) = list(junitparser.JUnitXml.fromstring(text))
    cases = {case.name: case for case in suite}
    assert (suite.tests, suite.failures, suite.skipped) == (5, 1, 4)
    assert [case.is_skipped for case in cases.values()] == [True] * 4 + [False]
    (failure,) = cases["evidence"].result
    assert isinstance(failure, junitparser.Failure)
    assert (failure.type, failure.message) == (
        "NoEvidence",
        "no check could be decided (73 insufficient data); a gate must not pass on "
        "no evidence",
    )
    golden("junit_no_evidence.xml", text)


def test_passing_run_in_junit_has_no_run_case(written: Path) -> None:
    (suite,) = list(junitparser.JUnitXml.fromfile(str(written / "junit.xml")))
    assert [
        case.name for case in suite if case.name in ("run completed", "evidence")
    ] == []


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("<script>x</script>", "&lt;script&gt;x&lt;/script&gt;"),
        ("[click](javascript:alert(1))", "\\[click\\](javascript:alert(1))"),
        ("**loud** ~~gone~~", "\\*\\*loud\\*\\* \\~\\~gone\\~\\~"),
        ("a|b `c`", "a\\|b 'c'"),
        ("/api/v1/rooms/{room_id}", "/api/v1/rooms/{room_id}"),
    ],
    ids=["html", "link", "emphasis", "cell-and-code", "plain-path"],
)
def test_markdown_shows_names_as_text(name: str, shown: str) -> None:
    from reporting.ci import _md

    assert _md(name) == shown
