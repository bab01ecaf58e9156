"""The report's SVG charts: plain-number log axes, and notes placed in the axes."""

from __future__ import annotations

import base64
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from reporting.analysis import analyse
from reporting.charts import _error_spans, render_charts
from reporting.run import load_run

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "data" / "locust-csv-corpus"


def _svg_texts(data_uri: str) -> tuple[str, list[str]]:
    """Decode a chart's data URI; return the SVG and the text of its labels."""
    svg = base64.b64decode(data_uri.split(",", 1)[1]).decode("utf-8")
    return svg, re.findall(r"<text[^>]*>([^<]*)</text>", svg)


@pytest.mark.parametrize(
    ("name", "ticks"),
    [
        pytest.param(
            "XFJ__example_stats.csv", ["1,000", "10,000", "100,000"], id="xfj"
        ),
        pytest.param(
            "locust-experiments__sending-results_example_requests.csv",
            ["10", "100", "1,000", "10,000"],
            id="locust-0x",
        ),
    ],
)
def test_log_distribution_axis_has_plain_number_labels(
    tmp_path: Path, name: str, ticks: list[str]
) -> None:
    shutil.copy(CORPUS / name, tmp_path / name)
    run = load_run(tmp_path / name)

    charts = {chart.key: chart for chart in render_charts(run, analyse(run))}

    data_uri = charts["distribution"].data_uri
    assert data_uri is not None
    svg, texts = _svg_texts(data_uri)
    assert "mathdefault" not in svg
    assert "$" not in svg
    labels = ["p50", "p90", "p95", "p99", "p99.9", "max"]
    assert texts == [*labels, *ticks, "ms", "Whole run"]


def test_no_chart_of_a_run_has_mathtext(tmp_path: Path) -> None:
    for suffix in ("_stats.csv", "_stats_history.csv", "_failures.csv"):
        shutil.copy(CORPUS / f"XFJ__example{suffix}", tmp_path / f"xfj{suffix}")
    run = load_run(tmp_path / "xfj_stats.csv")

    charts = render_charts(run, analyse(run))

    drawn = [chart for chart in charts if chart.data_uri is not None]
    assert [chart.key for chart in drawn] == [
        "latency",
        "throughput",
        "failures",
        "distribution",
    ]
    for chart in drawn:
        assert chart.data_uri is not None
        svg, _ = _svg_texts(chart.data_uri)
        assert ("mathdefault" in svg, "$" in svg) == (False, False), chart.key


def test_no_failed_requests_note_is_centred_in_the_axes() -> None:
    axes = Figure().subplots()
    axes.set_xlim(0, 600)

    _error_spans(axes, pd.DataFrame(), 0.0, 1.0, timed=True)

    (note,) = axes.texts
    assert note.get_text() == "no failed requests"
    assert note.get_position() == (0.5, 0.5)
    assert note.get_transform() is axes.transAxes
    assert (note.get_ha(), note.get_va()) == ("center", "center")
