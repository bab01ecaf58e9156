"""Schedules and outages as JSON: validation and the views the control port returns.

A schedule is a list of steps, each due at a time and doing one or both of two things::

    {"steps": [
      {"after_s": 0,  "knobs": {"latency_ms": {"list_rooms": 50}}},
      {"after_s": 15, "knobs": {"latency_ms": {"list_rooms": 400}}},
      {"at": 1767225600.0, "outage": {"seconds": 10}}
    ]}

``after_s`` counts seconds from when the schedule is posted; ``at`` is an absolute
epoch time. ``knobs`` is a knob change (see :mod:`sandbox._knobs`); ``outage`` takes the
chat API down for ``seconds``. Every step is checked before any is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from loadgate.errors import SandboxError
from sandbox._checks import fields, number
from sandbox._knobs import KnobUpdate, parse_update

MAX_STEPS = 1000
MAX_AFTER_S = 7 * 24 * 3600.0
MAX_EPOCH_S = 1e11
MAX_OUTAGE_S = 3600.0

_STEP_FIELDS = ("after_s", "at", "knobs", "outage")
_STEP_SHAPE = '{"after_s": 15, "knobs": {"latency_ms": {"list_rooms": 400}}}'
_OUTAGE_SHAPE = '{"seconds": 10}'


class OutageStatus(TypedDict):
    """Whether the chat API is down, as ``GET /_sandbox/outage`` returns it.

    ``reopen_error`` says why the API could not listen again after an outage.
    """

    down: bool
    until: float | None
    reopen_error: str | None


class PendingStep(TypedDict):
    """A step not applied yet: when it is due (epoch seconds) and the step as given."""

    due: float
    step: dict[str, Any]


class ScheduleView(TypedDict):
    """The current schedule, as ``GET /_sandbox/schedule`` returns it."""

    posted_at: float | None
    applied: int
    pending: list[PendingStep]


@dataclass(frozen=True)
class Step:
    """One validated schedule step.

    Attributes:
        after_s: Seconds after the schedule is posted; None when ``at`` is given.
        at: Absolute epoch seconds; None when ``after_s`` is given.
        knobs: The knob change to apply, or None.
        outage_s: The outage to start, in seconds, or None.
        source: The step as given, shown by ``GET /_sandbox/schedule``.
    """

    after_s: float | None
    at: float | None
    knobs: KnobUpdate | None
    outage_s: float | None
    source: dict[str, Any]

    def due(self, posted_at: float) -> float:
        """Return the epoch time the step is due.

        Args:
            posted_at: When the schedule was posted, in epoch seconds.

        Returns:
            ``at``, or ``posted_at + after_s``.
        """
        if self.at is not None:
            return self.at
        return posted_at + (self.after_s or 0.0)


def parse_outage(body: object, where: str = "") -> float:
    """Validate an outage request: ``{"seconds": N}``.

    Args:
        body: The request, such as the body of ``POST /_sandbox/outage``.
        where: The path of ``body`` in its source, prefixed to error messages.

    Returns:
        The seconds the API stays down; 0 ends a running outage.

    Raises:
        SandboxError: The body is not ``{"seconds": N}`` with N from 0 to 3600.
    """
    label = where or "body"
    outage = fields(body, label, ("seconds",), _OUTAGE_SHAPE)
    if "seconds" not in outage:
        raise SandboxError(f"{label}: missing field 'seconds'")
    return number(
        outage["seconds"],
        f"{where}.seconds" if where else "seconds",
        f"seconds from 0 to {MAX_OUTAGE_S:g}",
        low=0.0,
        high=MAX_OUTAGE_S,
    )


def parse_schedule(body: object, where: str = "") -> list[Step]:
    """Validate a schedule given as ``{"steps": [...]}``.

    Args:
        body: The schedule, such as the body of ``POST /_sandbox/schedule``.
        where: Names the source in error messages (``--schedule 'plan.json'``); empty
            for a request body.

    Returns:
        The steps, in the order given.

    Raises:
        SandboxError: The body or a step is invalid; the message names the step.
    """
    lead = f"{where}: " if where else ""
    if not isinstance(body, Mapping) or set(body) != {"steps"}:
        raise SandboxError(
            f"{lead}a schedule must be a JSON object with only 'steps', a list of "
            f"steps such as {_STEP_SHAPE}"
        )
    return parse_steps(body["steps"], f"{lead}steps")


def parse_steps(steps: object, name: str) -> list[Step]:
    """Validate a list of schedule steps.

    Args:
        steps: The steps as given.
        name: Names the list in error messages: ``steps``, or ``schedule`` for the
            argument of :func:`sandbox.start`.

    Returns:
        The steps, in the order given.

    Raises:
        SandboxError: The list or a step is invalid; the message names the step.
    """
    if not isinstance(steps, list | tuple):
        raise SandboxError(f"{name} must be a list of steps, got {steps!r}")
    if len(steps) > MAX_STEPS:
        raise SandboxError(f"{name} has {len(steps)} steps; the limit is {MAX_STEPS}")
    return [_step(raw, f"{name}[{index}]") for index, raw in enumerate(steps)]


def _step(raw: object, where: str) -> Step:
    """Validate one step: its time and what it does."""
    step = fields(raw, where, _STEP_FIELDS, _STEP_SHAPE)
    after_s, at = _when(step, where)
    if "knobs" not in step and "outage" not in step:
        raise SandboxError(f"{where}: nothing to do; give 'knobs' and/or 'outage'")

    knobs = parse_update(step["knobs"], f"{where}.knobs") if "knobs" in step else None
    outage = (
        parse_outage(step["outage"], f"{where}.outage") if "outage" in step else None
    )
    return Step(after_s, at, knobs, outage, dict(step))


def _when(step: Mapping[str, object], where: str) -> tuple[float | None, float | None]:
    """Return a step's ``after_s`` or ``at``: exactly one must be given."""
    if ("after_s" in step) == ("at" in step):
        raise SandboxError(f"{where}: give exactly one of 'after_s' or 'at'")
    if "after_s" in step:
        after_s = number(
            step["after_s"],
            f"{where}.after_s",
            f"seconds from 0 to {MAX_AFTER_S:g}",
            low=0.0,
            high=MAX_AFTER_S,
        )
        return after_s, None
    at = number(
        step["at"],
        f"{where}.at",
        "epoch seconds above 0",
        low=0.0,
        high=MAX_EPOCH_S,
        low_open=True,
    )
    return None, at
