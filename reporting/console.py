"""A compact plain-text verdict for a terminal or a CI log, at most 100 columns wide.

The text has up to six parts: a headline about the run; one line per threshold with its
overall status, how many checks failed, and the worst value measured and where; one
line per failing (then inconclusive) check naming the stage, the endpoint and its
request; the findings' titles; the comparison with a baseline; and the summary line,
e.g. ``FAIL: 3 of 48 checks failed; 2 inconclusive``.
"""

from __future__ import annotations

from collections.abc import Sequence

from loadgate.scenarios import TOTAL, Threshold
from reporting import _frames
from reporting.analysis import Analysis
from reporting.compare import Comparison
from reporting.run import Run
from reporting.verdicts import (
    CheckStatus,
    Verdict,
    overall_status,
    status_counts,
    threshold_status,
)

__all__ = ["WIDTH", "render_console", "summary_line"]

WIDTH = 100
"""The widest line :func:`render_console` writes."""

_ELLIPSIS = "..."
_STATUS_TEXT: dict[CheckStatus, str] = {
    "pass": "PASS",
    "fail": "FAIL",
    "inconclusive": "INCONCLUSIVE",
    "insufficient_data": "INSUFFICIENT",
    "no_data": "NO DATA",
}
_CAVEATS: dict[CheckStatus, str] = {
    "inconclusive": "inconclusive",
    "insufficient_data": "with insufficient data",
    "no_data": "without data",
}
_MOST_FINDINGS = 5
_MOST_REGRESSIONS = 10
_Key = tuple[str, str, str, float]


def render_console(
    run: Run,
    verdicts: Sequence[Verdict],
    width: int = WIDTH,
    *,
    analysis: Analysis | None = None,
    comparison: Comparison | None = None,
) -> str:
    """Render the verdict of a run as plain text.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.
        width: The widest line allowed; longer request names are shortened.
        analysis: The run's analysis, whose findings are listed (if given).
        comparison: The comparison with a baseline, summarised (if given).

    Returns:
        The text, ending with :func:`summary_line` and a newline.
    """
    lines = [_headline(run)]
    if run.facts.fatal_error:
        lines.append("fatal error: " + " ".join(run.facts.fatal_error.split()))

    lines += ["", *_threshold_table(run.thresholds, verdicts)]
    labels = _frames.request_labels(run.stage_stats)
    shown = [v for v in verdicts if v.status in ("fail", "inconclusive")]
    if shown:
        lines += ["", *_failure_lines(shown, labels, width)]
    if analysis is not None and analysis.findings:
        lines += ["", *_finding_lines(analysis)]
    if comparison is not None:
        lines += ["", *_comparison_lines(comparison)]

    lines += ["", summary_line(verdicts)]
    return "\n".join(_fit(line, width) for line in lines) + "\n"


def summary_line(verdicts: Sequence[Verdict]) -> str:
    """Return the one-line verdict, e.g. ``PASS: 12 checks passed``.

    Args:
        verdicts: The run's verdicts.

    Returns:
        ``FAIL: <failed> of <checks> checks failed`` if any check failed, else
        ``PASS: <passed> checks passed``; either followed by how many checks were
        inconclusive, had insufficient data or had none, where any were.
    """
    if not verdicts:
        return "PASS: no thresholds to check"
    counts = status_counts(verdicts)
    status = overall_status(verdicts)
    if status == "fail":
        line = f"FAIL: {counts['fail']} of {_checks(len(verdicts))} failed"
    elif status == "inconclusive":
        line = f"INCONCLUSIVE: none of {_checks(len(verdicts))} could be decided"
    else:
        line = f"PASS: {_checks(counts['pass'])} passed"
    caveats = [
        f"{counts[status]} {text}"
        for status, text in _CAVEATS.items()
        if counts[status]
    ]
    return line + "".join(f"; {caveat}" for caveat in caveats)


def _headline(run: Run) -> str:
    """Say which run this is and how far it got."""
    ran = sum(stage.ran for stage in run.stages)
    early = ", stopped early" if run.facts.stopped_early else ""
    return (
        f"loadgate {run.facts.scenario} against {run.facts.host}: "
        f"{ran} of {len(run.stages)} stages ran{early}"
    )


def _threshold_table(
    thresholds: Sequence[Threshold], verdicts: Sequence[Verdict]
) -> list[str]:
    """One line per threshold: status, failed checks, worst value and where."""
    groups: dict[_Key, list[Verdict]] = {}
    for threshold in thresholds:
        groups.setdefault(
            (threshold.label, threshold.metric, threshold.op, threshold.limit), []
        )
    for verdict in verdicts:
        key = (verdict.threshold, verdict.metric, verdict.op, verdict.limit)
        groups.setdefault(key, []).append(verdict)

    rows = [("THRESHOLD", "STATUS", "FAILED", "WORST", "WHERE")]
    for (label, _, op, _), group in groups.items():
        worst = _worst(group, op)
        rows.append(
            (
                label,
                _STATUS_TEXT[threshold_status(group)],
                f"{sum(v.status == 'fail' for v in group)}/{len(group)}",
                "-" if worst is None else _value(worst.measured),
                "-" if worst is None else f"{worst.stage} / {worst.endpoint}",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return [
        "  ".join([*(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])), row[4]])
        for row in rows
    ]


def _failure_lines(
    shown: Sequence[Verdict], labels: dict[str, str], width: int
) -> list[str]:
    """One aligned line per failing, then inconclusive, check, fitting the width."""
    failing = sorted(shown, key=lambda verdict: verdict.status != "fail")
    requests = [
        "" if verdict.endpoint == TOTAL else labels.get(verdict.endpoint, "")
        for verdict in failing
    ]
    status_w = max(len(_STATUS_TEXT[verdict.status]) for verdict in failing)
    label_w = max(len(verdict.threshold) for verdict in failing)
    stage_w = max(len(verdict.stage) for verdict in failing)
    value_w = max(len(_value(verdict.measured)) for verdict in failing)

    separators = 1 + 3 * len("  ") + len("measured ")
    fixed = separators + status_w + label_w + stage_w + value_w
    room = max(width - fixed, 12)
    wheres = [
        _where(verdict.endpoint, request, room)
        for verdict, request in zip(failing, requests, strict=True)
    ]
    where_w = max(len(where) for where in wheres)
    return [
        f"{_STATUS_TEXT[verdict.status]:<{status_w}} {verdict.threshold:<{label_w}}  "
        f"{verdict.stage:<{stage_w}}  "
        f"{where:<{where_w}}  measured {_value(verdict.measured):>{value_w}}"
        for verdict, where in zip(failing, wheres, strict=True)
    ]


def _finding_lines(analysis: Analysis) -> list[str]:
    """The findings' titles, most severe first, then a pointer to the report."""
    lines = ["FINDINGS"]
    lines += [
        f"{finding.severity:<8}  {finding.title}"
        for finding in analysis.findings[:_MOST_FINDINGS]
    ]
    more = len(analysis.findings) - _MOST_FINDINGS
    if more > 0:
        lines.append(f"and {more} more in the report")
    return lines


def _comparison_lines(comparison: Comparison) -> list[str]:
    """How the run compares with its baseline, naming what regressed."""
    counts = comparison.counts()
    lines = [
        f"COMPARED WITH {', '.join(comparison.baselines)}: {counts['regressed']} "
        f"regressed, {counts['improved']} improved, {counts['same']} same"
    ]
    for row in comparison.rows:
        if row.verdict != "regressed" or len(lines) > _MOST_REGRESSIONS:
            continue
        moved = ", ".join(
            f"{c.metric} {_value(c.baseline)} -> {_value(c.current)}"
            for c in row.changes
            if c.verdict == "regressed"
        )
        lines.append(f"REGRESSED {row.stage} / {row.endpoint}: {moved}")
    return lines


def _where(endpoint: str, request: str, room: int) -> str:
    """Name an endpoint and its request in ``room`` columns.

    A request that does not fit loses leading path segments first
    (``POST .../{room_id}/messages``), so the end of the path stays readable.
    """
    if not request:
        return _elide(endpoint, room)
    method, _, path = request.partition(" ")
    segments = path.split("/")
    candidates = [f"{endpoint} ({request})"] + [
        f"{endpoint} ({method} {_ELLIPSIS}/{'/'.join(segments[index:])})"
        for index in range(2, len(segments))
    ]
    for candidate in candidates:
        if len(candidate) <= room:
            return candidate
    return _elide(candidates[0], room)


def _worst(group: Sequence[Verdict], op: str) -> Verdict | None:
    """The check furthest on the failing side: highest for ``below``, else lowest."""
    measured = [verdict for verdict in group if verdict.measured is not None]
    if not measured:
        return None
    pick = max if op == "below" else min
    return pick(measured, key=lambda verdict: verdict.measured or 0.0)


def _value(measured: float | None) -> str:
    """Format a measured value the same way everywhere in the console text."""
    return "-" if measured is None else f"{measured:.2f}"


def _checks(count: int) -> str:
    return f"{count} check" if count == 1 else f"{count} checks"


def _elide(text: str, width: int) -> str:
    """Shorten text to ``width`` by replacing its middle with an ellipsis."""
    if len(text) <= width:
        return text
    keep = width - len(_ELLIPSIS)
    head = (keep + 1) // 2
    return text[:head] + _ELLIPSIS + text[len(text) - (keep - head) :]


def _fit(line: str, width: int) -> str:
    """Cut a line that is still too wide (a very long host or error message)."""
    return line if len(line) <= width else line[: width - len(_ELLIPSIS)] + _ELLIPSIS
