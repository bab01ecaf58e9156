"""Added latency of an endpoint: a fixed delay or a log-normal distribution.

A latency knob is written one of three ways, each checked here:

* a number of milliseconds, the shorthand for a fixed delay: ``200``;
* ``{"dist": "fixed", "ms": 200}``;
* ``{"dist": "lognormal", "median_ms": 80, "sigma": 0.5}``: delays whose logarithm is
  normally distributed; half fall below ``median_ms`` and ``sigma`` stretches the tail
  (0 makes every delay the median).

On a command line the same reads ``KEY=MS``, ``KEY=fixed:MS`` or
``KEY=lognormal:MEDIAN_MS:SIGMA``. A sample never exceeds :data:`MAX_LATENCY_MS`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, TypedDict

from loadgate.errors import SandboxError
from sandbox._checks import fields, number

MAX_LATENCY_MS = 60_000.0
MAX_SIGMA = 3.0
LATENCY_SYNTAX = "MS, fixed:MS or lognormal:MEDIAN_MS:SIGMA"

_MS_EXPECTED = "milliseconds from 0 to 60000"
_MEDIAN_EXPECTED = "milliseconds above 0, up to 60000"
_SIGMA_EXPECTED = "a number from 0 to 3"
_SHAPE = '{"dist": "lognormal", "median_ms": 80, "sigma": 0.5}'


class FixedLatencySpec(TypedDict):
    """A fixed delay, as JSON: ``{"dist": "fixed", "ms": 50}``."""

    dist: Literal["fixed"]
    ms: float


class LogNormalLatencySpec(TypedDict):
    """A log-normal delay, as JSON: ``{"dist": "lognormal", "median_ms": 80, ...}``."""

    dist: Literal["lognormal"]
    median_ms: float
    sigma: float


#: A latency knob as JSON: milliseconds, or one of the two distribution objects.
LatencySpec = float | FixedLatencySpec | LogNormalLatencySpec


@dataclass(frozen=True)
class FixedLatency:
    """The same delay for every request.

    Attributes:
        ms: The delay in milliseconds.
    """

    ms: float

    def sample(self, rng: random.Random) -> float:
        """Return the delay; draws nothing from ``rng``.

        Args:
            rng: Unused; here so both latencies sample alike.

        Returns:
            The delay in milliseconds.
        """
        return self.ms

    def to_json(self) -> LatencySpec:
        """Return the knob as JSON: the plain number of milliseconds.

        Returns:
            The delay in milliseconds.
        """
        return self.ms


@dataclass(frozen=True)
class LogNormalLatency:
    """Delays drawn from a log-normal distribution.

    Attributes:
        median_ms: The median delay in milliseconds.
        sigma: The standard deviation of the delay's natural logarithm.
    """

    median_ms: float
    sigma: float

    def sample(self, rng: random.Random) -> float:
        """Draw one delay with ``rng.lognormvariate``, capped at the maximum.

        Args:
            rng: The random source; seeding it makes the delays reproducible.

        Returns:
            The delay in milliseconds.
        """
        drawn = rng.lognormvariate(math.log(self.median_ms), self.sigma)
        return min(drawn, MAX_LATENCY_MS)

    def to_json(self) -> LatencySpec:
        """Return the knob as JSON.

        Returns:
            ``{"dist": "lognormal", "median_ms": ..., "sigma": ...}``.
        """
        return {"dist": "lognormal", "median_ms": self.median_ms, "sigma": self.sigma}


Latency = FixedLatency | LogNormalLatency
NO_LATENCY = FixedLatency(0.0)


def check_latency(raw: object, where: str) -> Latency:
    """Validate a latency knob given as JSON: a number or a distribution object.

    Args:
        raw: The value as given.
        where: Names the value in error messages, such as ``latency_ms['get_me']``.

    Returns:
        The latency.

    Raises:
        SandboxError: The value is neither a number of milliseconds in range nor a
            valid distribution object.
    """
    if not isinstance(raw, Mapping):
        ms = number(raw, where, _MS_EXPECTED, low=0.0, high=MAX_LATENCY_MS)
        return FixedLatency(ms)

    body = fields(raw, where, ("dist", "ms", "median_ms", "sigma"), _SHAPE)
    dist = body.get("dist")
    if dist == "fixed":
        _refuse_extra(body, where, ("dist", "ms"), "fixed")
        ms = number(
            _need(body, "ms", where),
            f"{where}.ms",
            _MS_EXPECTED,
            low=0.0,
            high=MAX_LATENCY_MS,
        )
        return FixedLatency(ms)
    if dist == "lognormal":
        _refuse_extra(body, where, ("dist", "median_ms", "sigma"), "lognormal")
        return LogNormalLatency(
            median_ms=number(
                _need(body, "median_ms", where),
                f"{where}.median_ms",
                _MEDIAN_EXPECTED,
                low=0.0,
                high=MAX_LATENCY_MS,
                low_open=True,
            ),
            sigma=number(
                _need(body, "sigma", where),
                f"{where}.sigma",
                _SIGMA_EXPECTED,
                low=0.0,
                high=MAX_SIGMA,
            ),
        )
    raise SandboxError(
        f"{where}.dist: {dist!r} is not a distribution; expected 'fixed' or 'lognormal'"
    )


def parse_latency_text(text: str, where: str) -> Latency:
    """Parse a command-line latency: ``MS``, ``fixed:MS`` or ``lognormal:MEDIAN_MS:SIGMA``.

    Args:
        text: The text after ``KEY=``.
        where: Names the item in error messages, such as ``--latency 'get_me=fast'``.

    Returns:
        The latency.

    Raises:
        SandboxError: The text has none of the three forms, or a number is invalid.
    """
    parts = [part.strip() for part in text.split(":")]
    if len(parts) == 1:
        return check_latency(parts[0], where)
    if parts[0] == "fixed" and len(parts) == 2:
        return check_latency({"dist": "fixed", "ms": parts[1]}, where)
    if parts[0] == "lognormal" and len(parts) == 3:
        spec = {"dist": "lognormal", "median_ms": parts[1], "sigma": parts[2]}
        return check_latency(spec, where)
    raise SandboxError(
        f"{where}: expected {LATENCY_SYNTAX} after KEY=, "
        "e.g. 'list_rooms=200' or 'list_rooms=lognormal:80:0.5'"
    )


def _need(body: Mapping[str, object], name: str, where: str) -> object:
    """Return a required field of a distribution object."""
    if name not in body:
        raise SandboxError(f"{where}: missing field {name!r}")
    return body[name]


def _refuse_extra(
    body: Mapping[str, object], where: str, allowed: tuple[str, ...], dist: str
) -> None:
    """Refuse a field that belongs to the other distribution."""
    for key in body:
        if key not in allowed:
            raise SandboxError(
                f"{where}: a {dist!r} latency takes {', '.join(allowed)}, not {key!r}"
            )
