"""The report's charts, drawn with matplotlib as SVG and embedded as data URIs.

An SVG in an ``<img>`` needs nothing from the network, cannot run scripts, and cannot
inject markup into the page, whatever an endpoint or an error is called. Five charts:

* ``latency``: p50, p95 and p99 over time, the stages drawn as bands;
* ``throughput``: requests per second and users over time;
* ``failures``: failures per second over time, and when each kind of error was seen;
* ``distribution``: the latency percentile curve of each stage;
* ``scalability``: p95 against users across stages, with throughput and its USL fit.

The time charts come from Locust's stats history (its ``Aggregated`` rows); a long
history is averaged into at most :data:`MAX_POINTS` bins first. A chart without data
is not drawn: it carries a note saying why.
"""

from __future__ import annotations

import base64
import io
import logging
import math
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from loadgate.scenarios import TOTAL
from reporting import _frames
from reporting.analysis import Analysis
from reporting.run import Run

__all__ = ["MAX_POINTS", "Chart", "render_charts"]

logger = logging.getLogger(__name__)

MAX_POINTS = 1500
"""Most points a time chart draws per line; longer histories are averaged into bins."""

_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "loadgate",
    "text.parse_math": False,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "figure.dpi": 100,
}
_BANDS = ("#f2f4f7", "#e6eaf0")
_COLOURS = {"p50": "#1a7f37", "p95": "#bf8700", "p99": "#cf222e"}
_CLASS_COLOURS = {
    "cognito": "#8250df",
    "auth_denied": "#cf222e",
    "throttled": "#bc4c00",
    "server": "#a40e26",
    "client": "#6e7781",
    "timeout": "#0969da",
    "connection": "#1b7c83",
    "other": "#57606a",
}
_PERCENTILE_LADDER = (
    ("p50_ms", "p50"),
    ("p90_ms", "p90"),
    ("p95_ms", "p95"),
    ("p99_ms", "p99"),
    ("p999_ms", "p99.9"),
    ("max_ms", "max"),
)


@dataclass(frozen=True)
class Chart:
    """One chart of the report.

    Attributes:
        key: Short id, e.g. ``latency``.
        title: Heading shown above it.
        caption: What it shows and how to read it.
        data_uri: ``data:image/svg+xml;base64,...``, or None when not drawn.
        note: Why it was not drawn (empty when it was).
    """

    key: str
    title: str
    caption: str
    data_uri: str | None
    note: str = ""


def render_charts(run: Run, analysis: Analysis) -> list[Chart]:
    """Draw every chart of a run's report.

    Args:
        run: The loaded run.
        analysis: Its analysis (error classes and the scalability fit).

    Returns:
        The five charts, in report order.
    """
    history, bin_s = _history(run)
    with mpl.rc_context(_STYLE):
        charts = [
            _latency_chart(run, history, bin_s),
            _throughput_chart(run, history, bin_s),
            _failures_chart(run, history, analysis),
            _distribution_chart(run),
            _scalability_chart(run, analysis),
        ]
    logger.info(
        "charts drawn: %s of %s",
        sum(c.data_uri is not None for c in charts),
        len(charts),
    )
    return charts


# Data.


def _history(run: Run) -> tuple[pd.DataFrame, float]:
    """Return the Aggregated history rows, binned to at most MAX_POINTS, and the bin."""
    history = run.history
    if history.empty or "timestamp" not in history.columns:
        return pd.DataFrame(), 0.0
    rows = history[history["aggregated"].to_numpy(dtype=bool)]
    rows = rows[rows["timestamp"].notna()]
    if rows.empty:
        return pd.DataFrame(), 0.0
    columns = [
        column
        for column in (
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "rps",
            "failures_per_s",
            "user_count",
        )
        if column in rows.columns
    ]
    start = float(rows["timestamp"].min())
    span = float(rows["timestamp"].max()) - start
    bin_s = max(1.0, math.ceil(span / MAX_POINTS))
    bins = ((rows["timestamp"].to_numpy() - start) // bin_s).astype("int64")
    binned = rows[columns].groupby(bins).mean()
    binned.insert(0, "at", start + binned.index.to_numpy() * bin_s)
    return binned.reset_index(drop=True), bin_s if bin_s > 1 else 0.0


def _origin(run: Run, history: pd.DataFrame) -> float:
    """The time the x axes count from: the run's start, else the history's first."""
    if run.facts.started_at is not None:
        return run.facts.started_at
    return float(history["at"].min()) if not history.empty else 0.0


def _time_scale(span_s: float) -> tuple[float, str]:
    """Seconds per unit and the unit's label for an x axis of this span."""
    if span_s > 10 * 3600:
        return 3600.0, "hours since start"
    if span_s > 30 * 60:
        return 60.0, "minutes since start"
    return 1.0, "seconds since start"


# Charts.


def _latency_chart(run: Run, history: pd.DataFrame, bin_s: float) -> Chart:
    title = "Latency over time"
    caption = (
        "p50, p95 and p99 of all requests, from Locust's stats history (with "
        "--csv-full-history, each point covers the last few seconds; without it, the "
        "run so far). Shaded bands are the stages." + _binned(bin_s)
    )
    columns = [c for c in ("p50_ms", "p95_ms", "p99_ms") if c in history.columns]
    if history.empty or not columns or history[columns].isna().all().all():
        return Chart(
            "latency", title, caption, None, "No stats history with latencies."
        )

    figure, axes = _figure()
    origin = _origin(run, history)
    scale, label = _time_scale(float(history["at"].max()) - origin)
    x = (history["at"] - origin) / scale
    _stage_bands(axes, run, origin, scale)
    for column in columns:
        name = column.removesuffix("_ms")
        axes.plot(x, history[column], label=name, color=_COLOURS[name], linewidth=1.2)
    axes.set_xlabel(label)
    axes.set_ylabel("ms")
    axes.set_ylim(bottom=0)
    axes.legend(loc="upper left")
    return Chart("latency", title, caption, _svg(figure))


def _throughput_chart(run: Run, history: pd.DataFrame, bin_s: float) -> Chart:
    title = "Requests per second and users over time"
    caption = (
        "Requests per second completed (left axis) and virtual users (right axis), "
        "from Locust's stats history." + _binned(bin_s)
    )
    if history.empty or "rps" not in history.columns:
        return Chart("throughput", title, caption, None, "No stats history.")

    figure, axes = _figure()
    origin = _origin(run, history)
    scale, label = _time_scale(float(history["at"].max()) - origin)
    x = (history["at"] - origin) / scale
    _stage_bands(axes, run, origin, scale)
    axes.plot(x, history["rps"], color="#0969da", linewidth=1.2, label="req/s")
    axes.set_xlabel(label)
    axes.set_ylabel("requests per second")
    axes.set_ylim(bottom=0)
    if "user_count" in history.columns:
        users = axes.twinx()
        users.plot(
            x, history["user_count"], color="#57606a", linestyle="--", label="users"
        )
        users.set_ylabel("users")
        users.set_ylim(bottom=0)
        users.grid(False)
        lines = axes.get_lines() + users.get_lines()
        axes.legend(lines, [str(line.get_label()) for line in lines], loc="upper left")
    return Chart("throughput", title, caption, _svg(figure))


def _failures_chart(run: Run, history: pd.DataFrame, analysis: Analysis) -> Chart:
    title = "Failures over time, by kind of error"
    errors = analysis.errors
    timed = "first_seen" in errors.columns and "last_seen" in errors.columns
    caption = (
        "Top: failed requests per second (stats history). Bottom: each kind of error "
        + (
            "from the first to the last time Locust saw it, with its count."
            if timed
            else "with its count (this Locust records no first/last seen)."
        )
    )
    has_rate = not history.empty and "failures_per_s" in history.columns
    if not has_rate and errors.empty:
        return Chart(
            "failures", title, caption, None, "No stats history and no failures."
        )

    figure = Figure(figsize=(9, 4.2))
    top, bottom = figure.subplots(
        2, 1, height_ratios=(2, 1), sharex=bool(timed and has_rate)
    )
    origin = _origin(run, history)
    span = float(history["at"].max()) - origin if has_rate else 0.0
    scale, label = _time_scale(span)
    if has_rate:
        x = (history["at"] - origin) / scale
        _stage_bands(top, run, origin, scale)
        top.fill_between(
            x, history["failures_per_s"].fillna(0), color="#cf222e", alpha=0.5
        )
        top.plot(x, history["failures_per_s"], color="#cf222e", linewidth=1)
        top.set_ylabel("failures/s")
        top.set_ylim(bottom=0)
        top.set_xlabel("" if timed else label)
    else:
        _centred_note(top, "no stats history")
    _error_spans(bottom, errors, origin, scale, timed)
    bottom.set_xlabel(label if timed else "failures")
    figure.tight_layout()
    return Chart("failures", title, caption, _svg(figure))


def _error_spans(
    axes: Axes, errors: pd.DataFrame, origin: float, scale: float, timed: bool
) -> None:
    """Draw one bar per kind of error: its time span, or its count."""
    if errors.empty:
        _centred_note(axes, "no failed requests")
        axes.set_yticks([])
        return
    kinds = errors.groupby("class", sort=False).agg(
        label=("label", "first"),
        count=("occurrences", "sum"),
        first=("first_at", "min"),
    )
    if timed:
        last = errors["last_seen"].map(_epoch).groupby(errors["class"]).max()
        kinds["last"] = last
    for row, (key, kind) in enumerate(kinds.iterrows()):
        colour = _CLASS_COLOURS.get(str(key), "#57606a")
        text = f"{kind['label']} ({int(kind['count']):,})"
        if timed and not math.isnan(kind["first"]):
            start = (kind["first"] - origin) / scale
            width = max((kind["last"] - kind["first"]) / scale, 0.5 / scale)
            axes.barh(row, width, left=start, color=colour, height=0.6)
            axes.text(start, row + 0.35, text, fontsize=8, va="bottom")
        else:
            axes.barh(row, kind["count"], color=colour, height=0.6)
            axes.text(0, row + 0.35, text, fontsize=8, va="bottom")
    axes.set_yticks([])
    axes.set_ylim(-0.5, len(kinds) + 0.2)


def _distribution_chart(run: Run) -> Chart:
    title = "Latency distribution per stage"
    caption = (
        "Each stage's response-time percentiles (all requests of the stage, from "
        "loadgate's stage table); a curve that rises steeply at the right has a long "
        "tail."
    )
    totals = _stage_totals(run)
    if totals.empty:
        return Chart("distribution", title, caption, None, "No stage had requests.")

    figure, axes = _figure()
    positions = np.arange(len(_PERCENTILE_LADDER))
    for _, row in totals.iterrows():
        values = [float(row[column]) for column, _ in _PERCENTILE_LADDER]
        axes.plot(positions, values, marker="o", linewidth=1.2, label=str(row["stage"]))
    axes.set_xticks(positions, [label for _, label in _PERCENTILE_LADDER])
    axes.set_ylabel("ms")
    peak = float(np.nanmax(totals[[c for c, _ in _PERCENTILE_LADDER]].to_numpy()))
    low = float(np.nanmin(totals["p50_ms"].to_numpy()))
    if low > 0 and peak / low > 50:
        axes.set_yscale("log")
        _plain_log_labels(axes)
    else:
        axes.set_ylim(bottom=0)
    axes.legend(loc="upper left")
    return Chart("distribution", title, caption, _svg(figure))


def _scalability_chart(run: Run, analysis: Analysis) -> Chart:
    title = "Scalability: p95 and throughput against users"
    fit = analysis.scalability
    caption = (
        "Each stage's p95 (left axis) and requests per second (right axis) against "
        "its users." + (f" Dashed: the {fit.describe()}." if fit is not None else "")
    )
    totals = _stage_totals(run)
    totals = totals[totals["users"].notna() & (totals["users"] > 0)]
    if len(totals) < 2:
        return Chart(
            "scalability", title, caption, None, "Fewer than two stages with users."
        )

    figure, axes = _figure()
    users = totals["users"].to_numpy(dtype="float64")
    axes.plot(users, totals["p95_ms"], marker="o", color=_COLOURS["p95"], label="p95")
    for x, y, name in zip(users, totals["p95_ms"], totals["stage"], strict=True):
        axes.annotate(str(name), (x, y), textcoords="offset points", xytext=(4, 4))
    axes.set_xlabel("users")
    axes.set_ylabel("p95 (ms)")
    axes.set_ylim(bottom=0)
    rate = axes.twinx()
    rate.plot(
        users, totals["throughput_rps"], marker="s", color="#0969da", label="req/s"
    )
    if fit is not None:
        grid = np.linspace(1, max(users) * 1.25, 60)
        rate.plot(grid, [fit.throughput(n) for n in grid], "--", color="#0969da")
    rate.set_ylabel("requests per second")
    rate.set_ylim(bottom=0)
    rate.grid(False)
    lines = axes.get_lines() + rate.get_lines()[:1]
    axes.legend(lines, [str(line.get_label()) for line in lines], loc="upper left")
    return Chart("scalability", title, caption, _svg(figure))


# Drawing helpers.


def _figure() -> tuple[Figure, Axes]:
    figure = Figure(figsize=(9, 3.4))
    return figure, figure.subplots()


def _stage_bands(axes: Axes, run: Run, origin: float, scale: float) -> None:
    """Shade each stage that ran and name it at the top of the axes."""
    for index, stage in enumerate(run.stages):
        if stage.start is None or stage.end is None:
            continue
        left, right = (stage.start - origin) / scale, (stage.end - origin) / scale
        axes.axvspan(left, right, color=_BANDS[index % 2], zorder=0, linewidth=0)
        axes.text(
            (left + right) / 2,
            1.0,
            stage.name,
            transform=axes.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=8,
            color="#57606a",
            clip_on=False,
        )


def _centred_note(axes: Axes, text: str) -> None:
    """Write a note in the middle of the axes, whatever their data limits."""
    axes.text(
        0.5,
        0.5,
        text,
        transform=axes.transAxes,
        ha="center",
        va="center",
        color="#57606a",
    )


def _plain_number(value: float, _position: object = None) -> str:
    r"""Label a log axis tick as a plain number: ``100``, ``1,000``, ``0.5``.

    matplotlib's default log labels are mathtext (``$\mathdefault{10^{2}}$``),
    which an SVG with ``text.parse_math`` off shows as literal text.
    """
    if value >= 1:
        return f"{value:,.0f}"
    return f"{value:g}"


def _plain_log_labels(axes: Axes) -> None:
    """Label a log-scale y axis with plain numbers, and its minor ticks not at all."""
    axes.yaxis.set_major_formatter(FuncFormatter(_plain_number))
    axes.yaxis.set_minor_formatter(NullFormatter())


def _svg(figure: Figure) -> str:
    """Render a figure as an SVG data URI."""
    FigureCanvasSVG(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return "data:image/svg+xml;base64," + encoded


def _stage_totals(run: Run) -> pd.DataFrame:
    metrics = _frames.stage_metrics(run.stage_stats)
    totals = metrics[(metrics["endpoint"] == TOTAL) & (metrics["requests"] > 0)]
    order = {stage.name: stage.index for stage in run.stages}
    return totals.assign(order=totals["stage"].map(order)).sort_values("order")


def _binned(bin_s: float) -> str:
    return f" Points are {bin_s:g}-second averages." if bin_s else ""


def _epoch(text: object) -> float:
    try:
        return pd.Timestamp(str(text)).timestamp()
    except ValueError:
        return math.nan
