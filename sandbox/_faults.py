"""Injected faults of an endpoint: which share of requests fail, and how.

A fault knob is a JSON object with a ``rate`` (the fraction of requests that fail) and a
``kind``:

* ``status`` (the default): answer ``status`` (500, 502, 503, 429 or 403; default 500)
  with ``{"error": "injected error on KEY"}``; a 429 also carries ``Retry-After:
  retry_after_s`` (default 1);
* ``reset``: close the connection with a TCP reset, without a response;
* ``timeout``: hold the request ``hold_s`` seconds, then close the connection without
  a response;
* ``echo_auth``: answer 500 with a body that echoes the request's ``Authorization``
  header; a deliberately leaky target, to prove that a client redacts it.

For example ``{"rate": 0.05, "kind": "status", "status": 429}``. The older
``error_rate`` knob is shorthand for ``{"rate": R, "kind": "status", "status": 500}``.
On a command line: ``KEY=RATE:KIND[:ARG]``, where ARG is the status of a ``status``
fault or the seconds of a ``timeout``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Required, TypedDict

from loadgate.errors import SandboxError
from sandbox._checks import fields, integer, number

FaultKind = Literal["status", "reset", "timeout", "echo_auth"]
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "reset", "timeout", "echo_auth")
FAULT_STATUSES: tuple[int, ...] = (500, 502, 503, 429, 403)
DEFAULT_STATUS = 500
DEFAULT_RETRY_AFTER_S = 1
MAX_RETRY_AFTER_S = 3600
MAX_HOLD_S = 600.0
FAULT_SYNTAX = "KEY=RATE:KIND[:ARG]"

_FIELDS = ("rate", "kind", "status", "retry_after_s", "hold_s")
_SHAPE = '{"rate": 0.05, "kind": "status", "status": 429}'
_RATE_EXPECTED = "a fraction from 0 to 1"


class FaultSpec(TypedDict, total=False):
    """A fault knob as JSON; only ``rate`` is required."""

    rate: Required[float]
    kind: FaultKind
    status: int
    retry_after_s: int
    hold_s: float


@dataclass(frozen=True)
class Fault:
    """A validated fault knob.

    Attributes:
        rate: The fraction of requests that fail, from 0 to 1.
        kind: How they fail.
        status: The status a ``status`` fault answers with.
        retry_after_s: The ``Retry-After`` seconds of a 429; None otherwise.
        hold_s: How long a ``timeout`` fault holds the request; None otherwise.
    """

    rate: float
    kind: FaultKind = "status"
    status: int = DEFAULT_STATUS
    retry_after_s: int | None = None
    hold_s: float | None = None

    def to_json(self) -> FaultSpec:
        """Return the knob as JSON, with only the fields its kind uses.

        Returns:
            The fault object, such as ``{"rate": 0.05, "kind": "status", "status": 429,
            "retry_after_s": 1}``.
        """
        spec: FaultSpec = {"rate": self.rate, "kind": self.kind}
        if self.kind == "status":
            spec["status"] = self.status
        if self.retry_after_s is not None:
            spec["retry_after_s"] = self.retry_after_s
        if self.hold_s is not None:
            spec["hold_s"] = self.hold_s
        return spec


NO_FAULT = Fault(rate=0.0)


def error_rate_fault(raw: object, where: str) -> Fault:
    """Validate an ``error_rate`` knob, shorthand for a status-500 fault.

    Args:
        raw: The rate as given.
        where: Names the value in error messages, such as ``error_rate['get_me']``.

    Returns:
        The equivalent fault.

    Raises:
        SandboxError: The rate is not a fraction from 0 to 1.
    """
    return Fault(rate=number(raw, where, _RATE_EXPECTED, low=0.0, high=1.0))


def check_fault(raw: object, where: str) -> Fault:
    """Validate a fault knob given as a JSON object.

    Args:
        raw: The value as given.
        where: Names the value in error messages, such as ``faults['get_me']``.

    Returns:
        The fault.

    Raises:
        SandboxError: A field is unknown, missing, out of range, or not one the
            fault's kind takes.
    """
    body = fields(raw, where, _FIELDS, _SHAPE)
    if "rate" not in body:
        raise SandboxError(f"{where}: missing field 'rate'")
    rate = number(body["rate"], f"{where}.rate", _RATE_EXPECTED, low=0.0, high=1.0)
    kind = _kind(body.get("kind", "status"), f"{where}.kind")

    if kind == "status":
        return _status_fault(body, where, rate)
    _only_for(body, where, "status", "a 'status' fault")
    _only_for(body, where, "retry_after_s", "a 'status' fault with status 429")
    if kind != "timeout":
        _only_for(body, where, "hold_s", "a 'timeout' fault")
        return Fault(rate=rate, kind=kind)

    if "hold_s" not in body:
        raise SandboxError(
            f"{where}: a 'timeout' fault needs hold_s, the seconds to hold the request"
        )
    hold = number(
        body["hold_s"],
        f"{where}.hold_s",
        f"seconds above 0, up to {MAX_HOLD_S:g}",
        low=0.0,
        high=MAX_HOLD_S,
        low_open=True,
    )
    return Fault(rate=rate, kind="timeout", hold_s=hold)


def parse_fault_text(text: str, where: str) -> Fault:
    """Parse a command-line fault: ``RATE:KIND[:ARG]``, the text after ``KEY=``.

    ``0.05:status:429`` answers 429 to 5% of requests (``0.05:status`` answers 500);
    ``1:timeout:30`` holds every request 30 s; ``0.1:reset`` and ``1:echo_auth`` take
    no argument.

    Args:
        text: The text after ``KEY=``.
        where: Names the item in error messages, such as ``--fault 'get_me=1:boom'``.

    Returns:
        The fault.

    Raises:
        SandboxError: The text is not ``RATE:KIND[:ARG]`` or a part is invalid.
    """
    parts = [part.strip() for part in text.split(":")]
    if len(parts) not in (2, 3) or not all(parts):
        raise SandboxError(
            f"{where}: expected {FAULT_SYNTAX}, e.g. 'list_messages=0.05:status:429'"
        )

    rate, kind, *argument = parts
    spec: dict[str, object] = {"rate": rate, "kind": _kind(kind, f"{where} kind")}
    if argument:
        name = {"status": "status", "timeout": "hold_s"}.get(kind)
        if name is None:
            raise SandboxError(f"{where}: a {kind!r} fault takes no argument")
        spec[name] = argument[0]
    return check_fault(spec, where)


def _kind(raw: object, where: str) -> FaultKind:
    """Check a fault kind."""
    for kind in FAULT_KINDS:
        if raw == kind:
            return kind
    raise SandboxError(
        f"{where}: {raw!r} is not a fault kind; expected one of {', '.join(FAULT_KINDS)}"
    )


def _status_fault(body: Mapping[str, object], where: str, rate: float) -> Fault:
    """Build a ``status`` fault: its status and, for a 429, its Retry-After."""
    _only_for(body, where, "hold_s", "a 'timeout' fault")
    raw = body.get("status", DEFAULT_STATUS)
    # A command line gives the status as text; JSON gives a number.
    wanted = raw.strip() if isinstance(raw, str) else raw
    status = next(
        (code for code in FAULT_STATUSES if wanted in (code, str(code))), None
    )
    if status is None or isinstance(raw, bool):
        statuses = ", ".join(str(code) for code in FAULT_STATUSES)
        raise SandboxError(
            f"{where}.status: {raw!r} is not an injectable status; "
            f"expected one of {statuses}"
        )
    if status != 429:
        _only_for(body, where, "retry_after_s", "a 'status' fault with status 429")
        return Fault(rate=rate, status=status)

    retry_after = integer(
        body.get("retry_after_s", DEFAULT_RETRY_AFTER_S),
        f"{where}.retry_after_s",
        f"an integer from 0 to {MAX_RETRY_AFTER_S}",
        low=0,
        high=MAX_RETRY_AFTER_S,
    )
    return Fault(rate=rate, status=429, retry_after_s=retry_after)


def _only_for(body: Mapping[str, object], where: str, name: str, owner: str) -> None:
    """Refuse a field the fault's kind does not take."""
    if name in body:
        raise SandboxError(f"{where}.{name}: only {owner} takes {name}")
