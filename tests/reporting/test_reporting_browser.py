"""report.html in headless Chromium, offline: no console errors, every chart drawn."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright
from reporting_helpers import DEMO_DIR, rewrite_cells

from reporting import Run, evaluate, load_run, write_report

CHROMIUM = Path("/usr/bin/chromium")
HOSTILE = "<script>alert(\"x\")</script>'q'"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        chromium = driver.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo run with a request name and an error message that hold markup."""
    run_dir = tmp_path_factory.mktemp("hostile") / "run"
    shutil.copytree(DEMO_DIR, run_dir)
    rewrite_cells(run_dir / "loadgate_stages.csv", {"/api/v1/rooms": HOSTILE})
    rewrite_cells(run_dir / "loadgate_stats.csv", {"/api/v1/rooms": HOSTILE})
    rewrite_cells(
        run_dir / "loadgate_failures.csv",
        {
            "RemoteDisconnected('Remote end closed connection without response')": HOSTILE
        },
    )
    run: Run = load_run(run_dir)
    return write_report(run, evaluate(run), run_dir).report_html


def test_report_renders_offline_with_every_chart(
    browser: Browser, hostile_report: Path, tmp_path: Path
) -> None:
    context = browser.new_context(offline=True, java_script_enabled=True)
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console", lambda message: problems.append(f"{message.type}: {message.text}")
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    page.goto(hostile_report.as_uri(), wait_until="load")
    charts = page.eval_on_selector_all(
        "figure.chart img",
        "imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight,"
        " i.getBoundingClientRect().height])",
    )
    dialogs = page.evaluate("typeof window.alert")
    screenshot = tmp_path / "report.png"
    page.screenshot(path=str(screenshot), full_page=True)
    context.close()

    assert problems == []
    assert [url for url in requests if not url.startswith("file://")] == []
    assert len(charts) == 5
    assert all(
        done and width > 300 and height > 100 and shown > 50
        for done, width, height, shown in charts
    )
    assert dialogs == "function"
    assert screenshot.stat().st_size > 50_000


def test_markup_from_csvs_is_shown_as_text(
    browser: Browser, hostile_report: Path
) -> None:
    page = browser.new_page()
    page.goto(hostile_report.as_uri())
    scripts = page.eval_on_selector_all("script", "nodes => nodes.length")
    text = page.inner_text("table.errors")
    names = page.inner_text("table.stage")
    page.close()

    assert scripts == 0
    assert HOSTILE in text
    assert f"GET {HOSTILE}" in names
