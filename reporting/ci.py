"""CI outputs: ``junit.xml`` (one test case per threshold) and ``summary.md``.

In ``junit.xml`` a threshold is a test case named by its label (``p95_ms < 1000``) in
the suite ``loadgate.<scenario>``. A failing threshold carries a ``<failure>`` whose
message and text list every failing check with its measured value and limit. A
threshold with no check passed or failed (all inconclusive, insufficient or without
data) is ``<skipped>``, saying why; one that passed lists its caveats in
``<system-out>``. The suite's ``stopped_early`` property is ``true`` or ``false``; a
run that stopped early has one more test case, ``all stages ran``, skipped with how
far the run got (``stopped early: ran Light and 5.6 s of Medium; Heavy, Peak never
ran``), so CI test views show the interruption without failing on it. A run that
did not complete (``run.json`` has a ``fatal_error``, e.g. Cognito refused the
password) has a failing test case ``run completed`` whose message is the error, and a
run none of whose checks could be decided (overall ``inconclusive``) has a failing
test case ``evidence`` (``no check could be decided: ...``), so such a run shows red
in a CI test view rather than as skipped tests only. The XML is written by
:mod:`xml.etree.ElementTree`, which escapes it.

``summary.md`` is GitHub-flavoured Markdown for a pull-request comment or
``$GITHUB_STEP_SUMMARY``: the verdict, the threshold table, the failing checks, the
findings and recommendations, and the comparison if any. A run that stopped early is
headed with a warning mark and how far it got, never a plain green PASS. Text from
CSVs is escaped, so a request named ``<script>`` or ``a|b`` shows as written.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence

from reporting import _format
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

__all__ = [
    "EVIDENCE_CASE",
    "RUN_CASE",
    "STAGES_CASE",
    "junit_xml",
    "summary_markdown",
    "worst_check",
]

STAGES_CASE = "all stages ran"
"""The JUnit test case, skipped, that marks a run that stopped early."""
RUN_CASE = "run completed"
"""The JUnit test case, failed, of a run stopped by a fatal error."""
EVIDENCE_CASE = "evidence"
"""The JUnit test case, failed, of a run none of whose checks could be decided."""

_STATUS_TEXT: dict[CheckStatus, str] = {
    "pass": "pass",
    "fail": "FAIL",
    "inconclusive": "inconclusive",
    "insufficient_data": "insufficient data",
    "no_data": "no data",
}

_COUNTED: dict[CheckStatus, str] = {
    "pass": "passed",
    "fail": "failed",
    "inconclusive": "inconclusive",
    "insufficient_data": "with insufficient data",
    "no_data": "without data",
}


def worst_check(group: Sequence[Verdict], op: str) -> Verdict | None:
    """Return the check furthest on the failing side (highest for ``below``)."""
    measured = [verdict for verdict in group if verdict.measured is not None]
    if not measured:
        return None
    pick = max if op == "below" else min
    return pick(measured, key=lambda verdict: verdict.measured or 0.0)


def check_text(verdict: Verdict) -> str:
    """One check in words, e.g. ``Peak/post_message: 1,000 ms (995-1,050), limit < 1,000 ms``."""
    sign = "<" if verdict.op == "below" else ">="
    measured = _format.fmt_metric(verdict.measured, verdict.metric)
    band = ""
    if (
        verdict.low is not None
        and verdict.high is not None
        and verdict.low != verdict.high
    ):
        band = (
            f" (between {_format.fmt_metric(verdict.low, verdict.metric)} and "
            f"{_format.fmt_metric(verdict.high, verdict.metric)})"
        )
    return (
        f"{verdict.stage}/{verdict.endpoint}: measured {measured}{band}, limit {sign} "
        f"{_format.fmt_metric(verdict.limit, verdict.metric)}, {verdict.samples:,} "
        f"samples: {_STATUS_TEXT[verdict.status]}"
    )


def junit_xml(run: Run, verdicts: Sequence[Verdict]) -> str:
    """Return the run's thresholds as a JUnit XML document.

    Args:
        run: The loaded run.
        verdicts: Its checks.

    Returns:
        The XML text, with one ``<testcase>`` per threshold; after them a skipped
        :data:`STAGES_CASE` if the run stopped early, a failed :data:`RUN_CASE` if
        a fatal error stopped it, and a failed :data:`EVIDENCE_CASE` if no check
        could be decided.
    """
    groups = [
        (
            threshold.label,
            threshold.op,
            [v for v in verdicts if v.threshold == threshold.label],
        )
        for threshold in run.thresholds
    ]
    statuses = [threshold_status(group) for _, _, group in groups]
    stopped = 1 if run.interruption is not None else 0
    fatal = run.facts.fatal_error
    undecided = overall_status(verdicts) == "inconclusive"
    extra_failures = int(fatal is not None) + int(undecided)
    suite = ElementTree.Element(
        "testsuite",
        {
            "name": f"loadgate.{run.facts.scenario}",
            "tests": str(len(groups) + stopped + extra_failures),
            "failures": str(statuses.count("fail") + extra_failures),
            "errors": "0",
            "skipped": str(sum(s not in ("pass", "fail") for s in statuses) + stopped),
            "time": f"{run.facts.duration_s or 0.0:.3f}",
        },
    )
    properties = ElementTree.SubElement(suite, "properties")
    ElementTree.SubElement(
        properties,
        "property",
        {"name": "stopped_early", "value": "true" if stopped else "false"},
    )
    classname = f"loadgate.{run.facts.scenario}"
    for (label, _, group), status in zip(groups, statuses, strict=True):
        case = ElementTree.SubElement(
            suite, "testcase", {"name": label, "classname": classname, "time": "0"}
        )
        _junit_outcome(case, group, status)
    if run.interruption is not None:
        _junit_stopped_early(suite, run, classname, run.interruption)
    if fatal is not None:
        _junit_failed_case(
            suite,
            classname,
            RUN_CASE,
            "fatal error: " + " ".join(fatal.split()),
            "FatalError",
            fatal,
        )
    if undecided:
        counts = status_counts(verdicts)
        decided = ", ".join(
            f"{count} {_STATUS_TEXT[name]}" for name, count in counts.items() if count
        )
        _junit_failed_case(
            suite,
            classname,
            EVIDENCE_CASE,
            f"no check could be decided ({decided}); a gate must not pass on no "
            "evidence",
            "NoEvidence",
            "\n".join(check_text(v) for v in verdicts if v.status == "inconclusive")
            or decided,
        )
    root = ElementTree.Element("testsuites", {"name": "loadgate"})
    root.append(suite)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _junit_stopped_early(
    suite: ElementTree.Element, run: Run, classname: str, interruption: str
) -> None:
    """Add the skipped test case that says how far a stopped run got, stage by stage."""
    case = ElementTree.SubElement(
        suite, "testcase", {"name": STAGES_CASE, "classname": classname, "time": "0"}
    )
    message = f"stopped early: {interruption}; only the stages that ran were judged"
    ElementTree.SubElement(case, "skipped", {"message": message})
    out = ElementTree.SubElement(case, "system-out")
    out.text = "\n".join(
        f"{stage.name}: ran {_format.fmt_duration(stage.elapsed_s)} of "
        f"{_format.fmt_duration(stage.duration_s)} planned"
        if stage.ran
        else f"{stage.name}: never ran ({_format.fmt_duration(stage.duration_s)} planned)"
        for stage in run.stages
    )


def _junit_failed_case(
    suite: ElementTree.Element,
    classname: str,
    name: str,
    message: str,
    kind: str,
    text: str,
) -> None:
    """Add a failed test case about the run as a whole (not one threshold)."""
    case = ElementTree.SubElement(
        suite, "testcase", {"name": name, "classname": classname, "time": "0"}
    )
    failure = ElementTree.SubElement(
        case, "failure", {"message": message, "type": kind}
    )
    failure.text = text


def _junit_outcome(
    case: ElementTree.Element, group: Sequence[Verdict], status: CheckStatus
) -> None:
    """Add the failure, skip or caveats of one threshold to its test case."""
    counts = status_counts(group)
    summary = ", ".join(
        f"{count} {_STATUS_TEXT[name]}" for name, count in counts.items() if count
    )
    if status == "fail":
        failing = [v for v in group if v.status == "fail"]
        failure = ElementTree.SubElement(
            case,
            "failure",
            {
                "message": f"{len(failing)} of {len(group)} checks failed: "
                + check_text(failing[0]),
                "type": "ThresholdFailed",
            },
        )
        failure.text = "\n".join(check_text(v) for v in failing)
    elif status != "pass":
        reason = {
            "inconclusive": "the limit lies within the measured figure's precision",
            "insufficient_data": "too few samples to judge",
            "no_data": "no requests to judge",
        }[status]
        ElementTree.SubElement(
            case, "skipped", {"message": f"{status}: {reason} ({summary})"}
        )
    caveats = [v for v in group if v.status in ("inconclusive", "insufficient_data")]
    out = ElementTree.SubElement(case, "system-out")
    out.text = "\n".join([summary or "no checks", *(check_text(v) for v in caveats)])


def summary_markdown(
    run: Run,
    verdicts: Sequence[Verdict],
    analysis: Analysis,
    comparison: Comparison | None,
    report_name: str,
) -> str:
    """Return the Markdown summary of a run.

    Args:
        run: The loaded run.
        verdicts: Its checks.
        analysis: Its findings.
        comparison: The comparison with baselines, if any.
        report_name: The HTML report's file name, linked at the end.

    Returns:
        The Markdown text.
    """
    status = overall_status(verdicts)
    counts = status_counts(verdicts)
    verdict = status.upper()
    icon = {"fail": ":x:", "pass": ":white_check_mark:"}.get(status, ":warning:")
    if run.interruption is not None:
        verdict += f" (stopped early: {_md(run.interruption)})"
        icon = ":x:" if status == "fail" else ":warning:"
    lines = [
        f"## {icon} loadgate {verdict}: {_md(run.facts.scenario)} "
        f"against {_md(run.facts.host)}",
        "",
        ", ".join(f"{n} {_COUNTED[s]}" for s, n in counts.items() if n)
        or "no thresholds to check",
        "",
    ]
    if run.facts.missing_files:
        names = ", ".join(f"`{_md(name)}`" for name in run.facts.missing_files)
        lines += [f"Not found, so read as empty tables: {names}", ""]
    lines += [
        "| threshold | status | checks | worst | where |",
        "| --- | --- | --- | --- | --- |",
    ]
    for threshold in run.thresholds:
        group = [v for v in verdicts if v.threshold == threshold.label]
        worst = worst_check(group, threshold.op)
        checks = status_counts(group)
        lines.append(
            f"| {_md(threshold.label)} | {_STATUS_TEXT[threshold_status(group)]} | "
            f"{checks['fail']} failed of {len(group)} | "
            f"{_format.fmt_metric(worst.measured, worst.metric) if worst else '-'} | "
            f"{_md(f'{worst.stage} / {worst.endpoint}') if worst else '-'} |"
        )

    failing = [v for v in verdicts if v.status == "fail"]
    if failing:
        lines += ["", "### Failing checks", ""]
        lines += [f"- {_md(v.threshold)}: {_md(check_text(v))}" for v in failing[:20]]
        if len(failing) > 20:
            lines.append(f"- ... and {len(failing) - 20} more (see the report)")

    lines += ["", "### Findings", ""]
    lines += [
        f"- **{_md(f.title)}** ({f.severity}): {_md(f.detail)}"
        for f in analysis.findings
    ] or ["- none"]
    lines += ["", "### Recommendations", ""]
    lines += [f"- {_md(text)}" for text in analysis.recommendations]
    if comparison is not None:
        counts_text = ", ".join(f"{n} {v}" for v, n in comparison.counts().items() if n)
        lines += [
            "",
            f"### Compared with {_md(', '.join(comparison.baselines))}",
            "",
            counts_text or "nothing to compare",
        ]
        regressed = [row for row in comparison.rows if row.verdict == "regressed"]
        lines += [
            f"- regressed: {_md(row.stage)} / {_md(row.endpoint)}" for row in regressed
        ]
    lines += ["", f"Full report: `{report_name}`", ""]
    return "\n".join(lines)


_MARKDOWN_MARKS = re.compile(r"[\\|\[\]*~]")


def _md(text: str) -> str:
    """Escape text for Markdown table cells and inline HTML.

    HTML is escaped, ``|`` cannot end a cell, and the marks of Markdown links,
    emphasis and strike-through are backslash-escaped, so a name from the target or
    a CSV shows as the text it is.
    """
    text = html.escape(" ".join(str(text).split()), quote=False)
    text = _MARKDOWN_MARKS.sub(r"\\\g<0>", text)
    return text.replace("`", "'")
