"""A compact plain-text verdict for a terminal or a CI log, at most 100 columns wide.

The text has four parts: a headline about the run; one line per threshold with its
overall status, how many checks failed, and the worst value measured and where; one
line per failing check naming the stage, the endpoint and its request; and the summary
line, e.g. ``FAIL: 3 of 48 checks failed``.
"""

from __future__ import annotations

from collections.abc import Sequence

from loadgate.scenarios import TOTAL, Threshold
from reporting import _frames
from reporting.run import Run
from reporting.verdicts import CheckStatus, Verdict, overall_status

__all__ = ["WIDTH", "render_console", "summary_line"]

WIDTH = 100
"""The widest line :func:`render_console` writes."""

_ELLIPSIS = "..."
_STATUS_TEXT = {"pass": "PASS", "fail": "FAIL", "no_data": "NO DATA"}
_Key = tuple[str, str, str, float]


def render_console(run: Run, verdicts: Sequence[Verdict], width: int = WIDTH) -> str:
    """Render the verdict of a run as plain text.

    Args:
        run: The loaded run.
        verdicts: The run's verdicts from :func:`reporting.evaluate`.
        width: The widest line allowed; longer request names are shortened.

    Returns:
        The text, ending with :func:`summary_line` and a newline.
    """
    lines = [_headline(run)]
    if run.facts.fatal_error:
        lines.append("fatal error: " + " ".join(run.facts.fatal_error.split()))

    lines += ["", *_threshold_table(run.thresholds, verdicts)]
    labels = _frames.request_labels(run.stage_stats)
    failing = [verdict for verdict in verdicts if verdict.status == "fail"]
    if failing:
        lines += ["", *_failure_lines(failing, labels, width)]

    lines += ["", summary_line(verdicts)]
    return "\n".join(_fit(line, width) for line in lines) + "\n"


def summary_line(verdicts: Sequence[Verdict]) -> str:
    """Return the one-line verdict, e.g. ``PASS: 12 checks passed``.

    Args:
        verdicts: The run's verdicts.

    Returns:
        ``FAIL: <failed> of <checks> checks failed`` if any check failed, else
        ``PASS: <passed> checks passed``; either followed by how many checks had no
        data, if any did.
    """
    if not verdicts:
        return "PASS: no thresholds to check"
    failed = sum(verdict.status == "fail" for verdict in verdicts)
    passed = sum(verdict.status == "pass" for verdict in verdicts)
    no_data = len(verdicts) - failed - passed

    if overall_status(verdicts) == "fail":
        line = f"FAIL: {failed} of {_checks(len(verdicts))} failed"
    else:
        line = f"PASS: {_checks(passed)} passed"
    return line + (f"; {no_data} without data" if no_data else "")


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
                _STATUS_TEXT[_group_status(group)],
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
    failing: Sequence[Verdict], labels: dict[str, str], width: int
) -> list[str]:
    """One aligned line per failing check, shortening request names to fit."""
    requests = [
        "" if verdict.endpoint == TOTAL else labels.get(verdict.endpoint, "")
        for verdict in failing
    ]
    label_w = max(len(verdict.threshold) for verdict in failing)
    stage_w = max(len(verdict.stage) for verdict in failing)
    value_w = max(len(_value(verdict.measured)) for verdict in failing)

    separators = len("FAIL ") + 3 * len("  ") + len("measured ")
    fixed = separators + label_w + stage_w + value_w
    room = max(width - fixed, 12)
    wheres = [
        _where(verdict.endpoint, request, room)
        for verdict, request in zip(failing, requests, strict=True)
    ]
    where_w = max(len(where) for where in wheres)
    return [
        f"FAIL {verdict.threshold:<{label_w}}  {verdict.stage:<{stage_w}}  "
        f"{where:<{where_w}}  measured {_value(verdict.measured):>{value_w}}"
        for verdict, where in zip(failing, wheres, strict=True)
    ]


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


def _group_status(group: Sequence[Verdict]) -> CheckStatus:
    """A threshold fails if any check fails, passes if any passed, else no data."""
    statuses = {verdict.status for verdict in group}
    if "fail" in statuses:
        return "fail"
    return "pass" if "pass" in statuses else "no_data"


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
