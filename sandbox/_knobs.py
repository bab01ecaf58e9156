"""Fault-injection knobs of the chat API: added latency and error rate per endpoint.

A knob is addressed by an endpoint key (``list_rooms``, ``post_message``...). Values
come from three places, all validated here so every source reports the same way:

* ``KEY=VALUE`` items, from the ``--latency`` / ``--error-rate`` flags or the
  comma-separated ``SANDBOX_LATENCY`` / ``SANDBOX_ERROR_RATE`` environment variables;
* mappings, from :func:`sandbox.start` keyword arguments;
* JSON objects posted to ``/_sandbox/knobs`` at runtime.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

from loadgate.errors import SandboxError

ENDPOINT_KEYS: tuple[str, ...] = (
    "health",
    "list_rooms",
    "get_me",
    "list_messages",
    "post_message",
)
LATENCY_ENV = "SANDBOX_LATENCY"
ERROR_RATE_ENV = "SANDBOX_ERROR_RATE"
MAX_LATENCY_MS = 60_000.0

KnobKind = Literal["latency_ms", "error_rate"]


class KnobTable(TypedDict):
    """Every knob, as ``GET /_sandbox/knobs`` returns it."""

    latency_ms: dict[str, float]
    error_rate: dict[str, float]


@dataclass(frozen=True)
class _Spec:
    """How one kind of knob is written and bounded."""

    flag: str
    env: str
    placeholder: str
    example: str
    high: float
    expected: str


_SPECS: dict[KnobKind, _Spec] = {
    "latency_ms": _Spec(
        flag="--latency",
        env=LATENCY_ENV,
        placeholder="KEY=MS",
        example="list_rooms=200",
        high=MAX_LATENCY_MS,
        expected="milliseconds from 0 to 60000",
    ),
    "error_rate": _Spec(
        flag="--error-rate",
        env=ERROR_RATE_ENV,
        placeholder="KEY=FRACTION",
        example="post_message=0.05",
        high=1.0,
        expected="a fraction from 0 to 1",
    ),
}


def flag_for(kind: KnobKind) -> str:
    """Return the command-line flag that sets knobs of ``kind``.

    Args:
        kind: ``"latency_ms"`` or ``"error_rate"``.

    Returns:
        ``"--latency"`` or ``"--error-rate"``.
    """
    return _SPECS[kind].flag


def check_value(kind: KnobKind, key: str, raw: object, where: str) -> float:
    """Validate one knob and return its value as a float.

    Args:
        kind: Which knob table the value belongs to.
        key: The endpoint key the knob applies to.
        raw: The value as given: a number, or the text after ``=``.
        where: Names the source in the error message, such as ``--latency 'a=1'``.

    Returns:
        The value, within the knob's bounds.

    Raises:
        SandboxError: The key is unknown, or the value is not a number in range.
    """
    spec = _SPECS[kind]
    if key not in ENDPOINT_KEYS:
        known = ", ".join(ENDPOINT_KEYS)
        raise SandboxError(
            f"{where}: unknown endpoint key {key!r}; expected one of {known}"
        )

    value = _as_number(raw)
    if value is None:
        raise SandboxError(f"{where}: {raw!r} is not a number")
    if not 0.0 <= value <= spec.high:
        raise SandboxError(
            f"{where}: {raw!r} is out of range; expected {spec.expected}"
        )
    return value


def _as_number(raw: object) -> float | None:
    """Return ``raw`` as a float, or None when it is not a number.

    NaN and infinities come back as infinity, so the range check refuses them.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else math.inf


def parse_items(kind: KnobKind, items: Iterable[str], source: str) -> dict[str, float]:
    """Parse ``KEY=VALUE`` items into a knob mapping.

    Args:
        kind: Which knob table the items set.
        items: The items, such as ``["list_rooms=200", "get_me=50"]``.
        source: The flag or environment variable they came from, for error messages.

    Returns:
        The knobs by endpoint key; a later item for the same key wins.

    Raises:
        SandboxError: An item is not ``KEY=VALUE`` or its key or value is invalid.
    """
    spec = _SPECS[kind]
    knobs: dict[str, float] = {}
    for item in items:
        where = f"{source} {item!r}"
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise SandboxError(
                f"{where}: expected {spec.placeholder}, e.g. {spec.example!r}"
            )
        knobs[key.strip()] = check_value(kind, key.strip(), raw.strip(), where)
    return knobs


_KIND_NAMES: dict[str, KnobKind] = {
    "latency": "latency_ms",
    "latency_ms": "latency_ms",
    "error_rate": "error_rate",
}


def parse_knobs(kind: str, items: Iterable[str]) -> dict[str, float]:
    """Parse the values of a repeatable ``--latency`` or ``--error-rate`` flag.

    For command lines built outside this package, such as ``loadgate sandbox up``;
    errors name the flag the same way ``python -m sandbox up`` does.

    Args:
        kind: ``"latency"`` (or ``"latency_ms"``) or ``"error_rate"``.
        items: The flag's values, such as ``["list_rooms=200", "get_me=50"]``.

    Returns:
        The knobs by endpoint key, ready for :func:`sandbox.start`.

    Raises:
        SandboxError: ``kind`` is unknown, or an item is not a valid ``KEY=VALUE``.
    """
    if kind not in _KIND_NAMES:
        raise SandboxError(f"knob kind must be 'latency' or 'error_rate', got {kind!r}")
    canonical = _KIND_NAMES[kind]
    return parse_items(canonical, items, _SPECS[canonical].flag)


def parse_env(kind: KnobKind, environ: Mapping[str, str]) -> dict[str, float]:
    """Parse the environment variable of ``kind``, such as ``SANDBOX_LATENCY``.

    Args:
        kind: Which knob table to read.
        environ: The environment, usually ``os.environ``.

    Returns:
        The knobs the variable sets; empty when it is unset or blank.

    Raises:
        SandboxError: The variable holds an invalid item.
    """
    name = _SPECS[kind].env
    text = environ.get(name, "")
    items = [part for part in text.split(",") if part.strip()]
    return parse_items(kind, items, name)


def check_mapping(
    kind: KnobKind, knobs: Mapping[str, object], name: str | None = None
) -> dict[str, float]:
    """Validate a mapping of endpoint keys to knob values.

    Args:
        kind: Which knob table the mapping sets.
        knobs: Values by endpoint key.
        name: Names the mapping in error messages; defaults to ``kind``.

    Returns:
        The validated knobs as floats.

    Raises:
        SandboxError: A key is unknown or a value is not a number in range.
    """
    label = name or kind
    return {
        key: check_value(kind, key, raw, f"{label}[{key!r}]")
        for key, raw in knobs.items()
    }


class Knobs:
    """The live knob table of one chat API process, safe to share between requests.

    Args:
        latency_ms: Initial added latency by endpoint key.
        error_rate: Initial error rate by endpoint key.

    Raises:
        SandboxError: An initial value is invalid.
    """

    def __init__(
        self,
        latency_ms: Mapping[str, object] | None = None,
        error_rate: Mapping[str, object] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._latency = dict.fromkeys(ENDPOINT_KEYS, 0.0)
        self._errors = dict.fromkeys(ENDPOINT_KEYS, 0.0)
        self.update(latency_ms or {}, error_rate or {})

    def update(
        self, latency_ms: Mapping[str, object], error_rate: Mapping[str, object]
    ) -> None:
        """Merge new values in; nothing changes unless every value is valid.

        Args:
            latency_ms: Added latency in milliseconds by endpoint key.
            error_rate: Fraction of requests answered with a 500, by endpoint key.

        Raises:
            SandboxError: A key is unknown or a value is out of range.
        """
        latency = check_mapping("latency_ms", latency_ms)
        errors = check_mapping("error_rate", error_rate)
        with self._lock:
            self._latency.update(latency)
            self._errors.update(errors)

    def latency_ms(self, key: str) -> float:
        """Return the added latency of an endpoint, in milliseconds.

        Args:
            key: The endpoint key.

        Returns:
            The latency; 0 for a key without a knob.
        """
        return self._latency.get(key, 0.0)

    def error_rate(self, key: str) -> float:
        """Return the fraction of requests to an endpoint that answer 500.

        Args:
            key: The endpoint key.

        Returns:
            The rate; 0 for a key without a knob.
        """
        return self._errors.get(key, 0.0)

    def snapshot(self) -> KnobTable:
        """Return a copy of every knob.

        Returns:
            Latency and error rate tables, each with every endpoint key.
        """
        with self._lock:
            return {"latency_ms": dict(self._latency), "error_rate": dict(self._errors)}
