"""CI outputs: junit.xml read back by junitparser, summary.json against its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import junitparser
import pytest

import reporting
from reporting import Run, analyse, compare, evaluate, generate, write_report
from reporting.ci import summary_markdown

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
