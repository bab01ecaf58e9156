"""Runs in Locust's web UI with loadgate's tab, driven in Chromium (Playwright).

One ``loadgate ui`` serves the whole module, as one would for a working session: the
runs below are its first, second... runs, so the later ones also check that each run
starts clean.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from webui_helpers import WebUI, poll, running_ui

pytestmark = pytest.mark.e2e

STAGE = re.compile(r"stage (\w+) \((\d) of (\d)\), (\d+) s left")
LIVE_VERDICTS = {"passing", "failing", "inconclusive"}


@pytest.fixture(scope="module")
def ui(
    sandbox_dir: Path, scenarios_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebUI]:
    args = ("--sandbox", str(sandbox_dir), "--scenarios-file", str(scenarios_file))
    directory = tmp_path_factory.mktemp("webui")
    with running_ui(directory, (*args, "--scenario", "quick"), {}) as running:
        yield running


@pytest.fixture
def page(browser: Any, ui: WebUI) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(ui.url + "/")
    yield page
    context.close()
    assert problems == []


def fill_start_form(page: Any, scenario: str, shape: str = "StagedShape") -> None:
    """Start a run as a user does; after an earlier run the form opens with New."""
    new = page.get_by_role("button", name="New")
    if new.count():
        new.click()
    page.select_option("select[name=shapeClass]", shape)
    page.get_by_role("button", name="Custom parameters").click()
    page.fill("input[name=scenario]", scenario)
    page.get_by_role("button", name="Start").click()


def tab_rows(page: Any) -> list[dict[str, str]]:
    """The loadgate tab's table, one dict per row, by column title."""
    table = page.locator("table:has(th[data-sortkey=verdict])")
    if table.count() == 0:
        return []
    titles = table.locator("thead th").all_inner_texts()
    cells = [r.locator("td").all_inner_texts() for r in table.locator("tbody tr").all()]
    return [dict(zip(titles, row, strict=True)) for row in cells]


def strip_stage(page: Any) -> str:
    line = page.locator("#loadgate-stage")
    return line.inner_text() if line.count() else ""


@pytest.mark.parametrize(
    ("shape", "scenario", "message"),
    [
        pytest.param(
            "StagedShape",
            "nosuch",
            "no scenario 'nosuch'; known scenarios: demo, long, quick",
            id="unknown-scenario",
        ),
        pytest.param(
            "Default", "demo", "Shape Class: pick StagedShape", id="default-shape"
        ),
    ],
)
def test_the_start_form_refuses_what_loadgate_cannot_run(
    page: Any, ui: WebUI, shape: str, scenario: str, message: str
) -> None:
    fill_start_form(page, scenario, shape)

    page.get_by_text(message).wait_for(timeout=10_000)
    assert ui.get_json("/loadgate/live")["state"] == "ready"
    assert ui.run_dirs(scenario) == []


def test_a_demo_run_shows_its_stages_and_verdicts_then_its_report(
    page: Any, ui: WebUI, tmp_path: Path
) -> None:
    fill_start_form(page, "demo")
    page.get_by_role("tab", name="loadgate").click()

    # The tab follows the run: the current stage changes, verdicts come in live.
    stages: list[str] = []
    verdicts: set[tuple[str, str]] = set()

    def watch() -> bool:
        seen = STAGE.search(strip_stage(page))
        if seen and (not stages or stages[-1] != seen[1]):
            stages.append(seen[1])
        for row in tab_rows(page):
            if row["Stage state"].startswith("running"):
                verdicts.add((row["Stage"], row["Verdict (live)"]))
        return page.locator("#loadgate-report").count() > 0

    poll(watch, 60, "the demo run's report link")
    page.screenshot(path=str(tmp_path / "loadgate-tab.png"), full_page=True)

    assert stages == ["Light", "Peak"]
    assert {verdict for _, verdict in verdicts} & LIVE_VERDICTS
    assert ("Peak", "failing") in verdicts  # throughput_rps >= 100000: never met
    final = {(row["Stage"], row["Threshold"]): row for row in tab_rows(page)}
    assert final["Peak", "throughput_rps >= 100000"]["Verdict (live)"] == "failing"
    assert final["Light", "p95_ms < 1000"]["Stage state"] == "done"

    # The report link opens loadgate's report, served by the same web UI.
    with page.context.expect_page() as opened:
        page.locator("#loadgate-report").click()
    report = opened.value
    report.wait_for_load_state()
    verdict_table = report.locator("table.verdicts")
    verdict_table.wait_for()
    report.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert report.url.startswith(ui.url + "/loadgate/runs/ui-")
    assert "throughput_rps" in verdict_table.inner_text()

    summary_url = urljoin(
        ui.url + "/", page.locator("#loadgate-summary").get_attribute("href")
    )
    summary = json.loads(page.request.get(summary_url).text())
    assert summary["run"]["scenario"] == "demo"
    assert summary["run"]["stopped_early"] is False
    assert [s["name"] for s in summary["run"]["stages"] if s["start"]] == [
        "Light",
        "Peak",
    ]
    assert summary["status"] == "fail"
    assert (tmp_path / "loadgate-tab.png").stat().st_size > 20_000
    assert (tmp_path / "report.png").stat().st_size > 20_000

    (run_dir,) = ui.run_dirs("demo")
    assert run_dir.name == summary["run"]["run_id"]
    for name in (
        "loadgate_stats.csv",
        "loadgate_stats_history.csv",
        "loadgate_failures.csv",
        "loadgate_stages.csv",
        "run.json",
        "locust.html",
        "report.html",
        "summary.json",
    ):
        assert (run_dir / name).stat().st_size > 0, name
    with (run_dir / "loadgate_stages.csv").open(encoding="utf-8") as table:
        totals = [r for r in csv.DictReader(table) if r["endpoint"] == "total"]
    assert [(r["stage"], int(r["requests"]) > 20) for r in totals] == [
        ("Light", True),
        ("Peak", True),
    ]


def test_stopping_by_hand_mid_stage_reports_the_stages_that_ran(
    page: Any, ui: WebUI, tmp_path: Path
) -> None:
    fill_start_form(page, "long")
    page.get_by_role("tab", name="loadgate").click()
    poll(lambda: "stage Second" in strip_stage(page), 30, "stage Second running")

    page.get_by_role("button", name="Stop").click()
    poll(lambda: page.locator("#loadgate-report").count(), 60, "the report link")
    page.screenshot(path=str(tmp_path / "stopped.png"), full_page=True)

    states = {row["Stage"]: row["Stage state"] for row in tab_rows(page)}
    assert states == {"First": "done", "Second": "stopped early", "Third": "not run"}
    (run_dir,) = ui.run_dirs("long")
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    stages = {stage["name"]: stage for stage in summary["run"]["stages"]}
    assert summary["run"]["stopped_early"] is True
    assert stages["First"]["end"] - stages["First"]["start"] == pytest.approx(
        3, abs=1.5
    )
    assert 0 < stages["Second"]["end"] - stages["Second"]["start"] < 30
    assert (stages["Third"]["start"], stages["Third"]["end"]) == (None, None)
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "The run stopped early" in report
    # This run's own numbers only: no stage of an earlier run in its stage table.
    with (run_dir / "loadgate_stages.csv").open(encoding="utf-8") as table:
        names = {row["stage"] for row in csv.DictReader(table)}
    assert names == {"First", "Second", "Third"}
