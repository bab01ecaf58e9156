"""Checks shared by every knob, schedule and outage value, so all report the same way.

Each check takes ``where``, the path of the value in its source (such as
``latency_ms['get_me'].sigma`` or ``--latency 'get_me=fast'``), and raises
:class:`~loadgate.errors.SandboxError` with a message that starts with it, shows the bad
value with ``!r`` and says what would be accepted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from loadgate.errors import SandboxError


def as_number(raw: object) -> float | None:
    """Return ``raw`` as a float, or None when it is not a number.

    Booleans are not numbers here. NaN and infinities come back as infinity, so every
    range check refuses them.

    Args:
        raw: A JSON value, or text from a command line.

    Returns:
        The number, or None.
    """
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else math.inf


def number(
    raw: object,
    where: str,
    expected: str,
    *,
    low: float,
    high: float,
    low_open: bool = False,
) -> float:
    """Check that a value is a number within bounds.

    Args:
        raw: The value as given.
        where: Names the value in the error message.
        expected: What is accepted, such as ``"a fraction from 0 to 1"``.
        low: The smallest value accepted.
        high: The largest value accepted.
        low_open: Refuse ``low`` itself.

    Returns:
        The value as a float.

    Raises:
        SandboxError: The value is not a number, or out of range.
    """
    value = as_number(raw)
    if value is None:
        raise SandboxError(f"{where}: {raw!r} is not a number")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        raise SandboxError(f"{where}: {raw!r} is out of range; expected {expected}")
    return value


def integer(raw: object, where: str, expected: str, *, low: int, high: int) -> int:
    """Check that a value is a whole number within bounds.

    Args:
        raw: The value as given; text of digits counts, ``2.0`` does not.
        where: Names the value in the error message.
        expected: What is accepted, such as ``"an integer from 0 to 3600"``.
        low: The smallest value accepted.
        high: The largest value accepted.

    Returns:
        The value.

    Raises:
        SandboxError: The value is not an integer, or out of range.
    """
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii():
        try:
            value = int(raw.strip())
        except ValueError:
            value = None
    if value is None:
        raise SandboxError(f"{where}: {raw!r} is not an integer; expected {expected}")
    if not low <= value <= high:
        raise SandboxError(f"{where}: {raw!r} is out of range; expected {expected}")
    return value


def fields(
    raw: object, where: str, allowed: Iterable[str], shape: str
) -> Mapping[str, object]:
    """Check that a value is a JSON object whose keys are all known.

    Args:
        raw: The value as given.
        where: Names the value in the error message.
        allowed: The keys accepted, in the order the message lists them.
        shape: An example of the object, shown when ``raw`` is not one.

    Returns:
        The object.

    Raises:
        SandboxError: The value is not an object, or has a key not in ``allowed``.
    """
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise SandboxError(f"{where}: expected an object such as {shape}, got {raw!r}")
    names = tuple(allowed)
    for key in raw:
        if key not in names:
            raise SandboxError(
                f"{where}: unknown field {key!r}; expected {', '.join(names)}"
            )
    return raw
