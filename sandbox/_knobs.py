"""The knobs of the chat API: latency and faults per endpoint, the Cognito quota, the seed.

A latency or fault knob is addressed by an endpoint key (``list_rooms``,
``post_message``...). A knob change is written as one JSON object, the body of
``POST /_sandbox/knobs`` and the ``knobs`` of a schedule step::

    {
      "latency_ms": {"list_rooms": 200, "get_me": {"dist": "lognormal",
                                                    "median_ms": 80, "sigma": 0.5}},
      "error_rate": {"post_message": 0.05},
      "faults": {"list_messages": {"rate": 0.05, "kind": "status", "status": 429}},
      "cognito_quota_per_s": 10,
      "seed": 42
    }

Every field is optional and merged into the live table key by key. ``latency_ms`` is
described in :mod:`sandbox._latency`, ``faults`` in :mod:`sandbox._faults`;
``error_rate`` is shorthand for a status-500 fault. ``cognito_quota_per_s`` caps
sign-ins per second at the Cognito proxy (null: no limit); ``seed`` reseeds the random
source that draws latencies and decides faults (null: unpredictable).

Values also come from ``KEY=VALUE`` items (the ``--latency``, ``--error-rate`` and
``--fault`` flags, the ``SANDBOX_LATENCY`` and ``SANDBOX_ERROR_RATE`` variables) and
from :func:`sandbox.start` arguments; all are checked by the same code, so every source
reports a bad value the same way.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypedDict, overload

from loadgate.errors import SandboxError
from sandbox._checks import integer, number
from sandbox._faults import (
    NO_FAULT,
    Fault,
    FaultSpec,
    check_fault,
    error_rate_fault,
    parse_fault_text,
)
from sandbox._latency import (
    NO_LATENCY,
    Latency,
    LatencySpec,
    check_latency,
    parse_latency_text,
)

ENDPOINT_KEYS: tuple[str, ...] = (
    "health",
    "list_rooms",
    "get_me",
    "list_messages",
    "post_message",
)
LATENCY_ENV = "SANDBOX_LATENCY"
ERROR_RATE_ENV = "SANDBOX_ERROR_RATE"
MAX_QUOTA_PER_S = 100_000.0
MAX_SEED = 2**63 - 1
KNOB_FIELDS = ("latency_ms", "error_rate", "faults", "cognito_quota_per_s", "seed")

QUOTA_EXPECTED = "sign-ins per second from 0 to 100000, or null for no limit"
SEED_EXPECTED = f"an integer from 0 to {MAX_SEED}, or null"

KnobKind = Literal["latency_ms", "error_rate", "faults"]


class KnobTable(TypedDict):
    """Every knob, as ``GET /_sandbox/knobs`` returns it.

    ``latency_ms`` holds a number for a fixed delay and an object for a distribution;
    ``error_rate`` is the ``rate`` of each endpoint's fault, whatever its kind.
    """

    latency_ms: dict[str, LatencySpec]
    error_rate: dict[str, float]
    faults: dict[str, FaultSpec]
    cognito_quota_per_s: float | None
    seed: int | None


@dataclass(frozen=True)
class KnobUpdate:
    """A validated knob change, ready to apply; see :func:`parse_update`.

    Attributes:
        latency: New latencies by endpoint key.
        faults: New faults by endpoint key (``error_rate`` already turned into faults).
        set_quota: Whether the change sets the Cognito quota.
        quota_per_s: The new quota when ``set_quota``; None means no limit.
        set_seed: Whether the change reseeds the random source.
        seed: The new seed when ``set_seed``; None means an unpredictable one.
    """

    latency: Mapping[str, Latency] = field(default_factory=dict)
    faults: Mapping[str, Fault] = field(default_factory=dict)
    set_quota: bool = False
    quota_per_s: float | None = None
    set_seed: bool = False
    seed: int | None = None

    def then(self, later: KnobUpdate) -> KnobUpdate:
        """Return this change followed by ``later``; ``later`` wins key by key.

        Args:
            later: The change applied second.

        Returns:
            One change with the effect of both.
        """
        return KnobUpdate(
            latency={**self.latency, **later.latency},
            faults={**self.faults, **later.faults},
            set_quota=self.set_quota or later.set_quota,
            quota_per_s=later.quota_per_s if later.set_quota else self.quota_per_s,
            set_seed=self.set_seed or later.set_seed,
            seed=later.seed if later.set_seed else self.seed,
        )

    def to_json(self) -> dict[str, object]:
        """Return the change as the JSON body that :func:`parse_update` reads back.

        Returns:
            The body, with only the fields the change sets.
        """
        body: dict[str, object] = {
            "latency_ms": {key: value.to_json() for key, value in self.latency.items()},
            "faults": {key: value.to_json() for key, value in self.faults.items()},
        }
        if self.set_quota:
            body["cognito_quota_per_s"] = self.quota_per_s
        if self.set_seed:
            body["seed"] = self.seed
        return body


def check_key(key: object, where: str) -> str:
    """Check that a knob is addressed by a known endpoint key.

    Args:
        key: The key as given.
        where: Names the knob in the error message.

    Returns:
        The key.

    Raises:
        SandboxError: The key is not one of :data:`ENDPOINT_KEYS`.
    """
    if not isinstance(key, str) or key not in ENDPOINT_KEYS:
        known = ", ".join(ENDPOINT_KEYS)
        raise SandboxError(
            f"{where}: unknown endpoint key {key!r}; expected one of {known}"
        )
    return key


def parse_update(body: object, where: str = "") -> KnobUpdate:
    """Validate a knob change given as JSON; nothing is applied here.

    Args:
        body: The change, such as the body of ``POST /_sandbox/knobs``.
        where: The path of ``body`` in its source, prefixed to every error message
            (``steps[2].knobs``); empty for a request body.

    Returns:
        The change.

    Raises:
        SandboxError: A field, endpoint key or value is invalid; the message names it.
    """
    prefix = f"{where}." if where else ""
    listed = ", ".join(repr(name) for name in KNOB_FIELDS)
    if not isinstance(body, Mapping):
        raise SandboxError(
            f"{where or 'body'} must be a JSON object with any of {listed}"
        )
    for name in body:
        if name not in KNOB_FIELDS:
            lead = f"{where}: " if where else ""
            raise SandboxError(
                f"{lead}unknown field {name!r}; expected any of {listed}"
            )

    latency = {
        key: check_latency(raw, path)
        for key, raw, path in _entries(body, "latency_ms", prefix, "latencies")
    }
    faults = _faults(body, prefix)
    update = KnobUpdate(latency=latency, faults=faults)
    if "cognito_quota_per_s" in body:
        update = update.then(_quota(body["cognito_quota_per_s"], prefix))
    if "seed" in body:
        update = update.then(_seed(body["seed"], prefix))
    return update


def _entries(
    body: Mapping[str, object], name: str, prefix: str, what: str
) -> list[tuple[str, object, str]]:
    """Return ``(key, value, where)`` for each endpoint key of a section."""
    section = body.get(name, {})
    if not isinstance(section, Mapping):
        raise SandboxError(
            f"{prefix + name!r} must be an object of endpoint keys to {what}"
        )
    entries = []
    for key, raw in section.items():
        where = f"{prefix}{name}[{key!r}]"
        entries.append((check_key(key, where), raw, where))
    return entries


def _faults(body: Mapping[str, object], prefix: str) -> dict[str, Fault]:
    """Validate ``error_rate`` and ``faults``; one endpoint may appear in only one."""
    faults = {
        key: error_rate_fault(raw, path)
        for key, raw, path in _entries(body, "error_rate", prefix, "numbers")
    }
    for key, raw, path in _entries(body, "faults", prefix, "fault objects"):
        if key in faults:
            raise SandboxError(
                f"{prefix}error_rate[{key!r}] and {path} both set the fault of "
                f"{key}; give only one"
            )
        faults[key] = check_fault(raw, path)
    return faults


def _quota(raw: object, prefix: str) -> KnobUpdate:
    """Validate ``cognito_quota_per_s``: a rate, or null for no limit."""
    where = f"{prefix}cognito_quota_per_s"
    if raw is None:
        return KnobUpdate(set_quota=True, quota_per_s=None)
    rate = number(raw, where, QUOTA_EXPECTED, low=0.0, high=MAX_QUOTA_PER_S)
    return KnobUpdate(set_quota=True, quota_per_s=rate)


def _seed(raw: object, prefix: str) -> KnobUpdate:
    """Validate ``seed``: an integer, or null for an unpredictable seed."""
    if raw is None:
        return KnobUpdate(set_seed=True, seed=None)
    if isinstance(raw, str):
        raise SandboxError(
            f"{prefix}seed: {raw!r} is not an integer; expected {SEED_EXPECTED}"
        )
    seed = integer(raw, f"{prefix}seed", SEED_EXPECTED, low=0, high=MAX_SEED)
    return KnobUpdate(set_seed=True, seed=seed)


def check_quota(raw: object, where: str) -> float | None:
    """Validate a Cognito sign-in quota given on a command line or as an argument.

    Args:
        raw: Sign-ins per second, or None for no limit.
        where: Names the value in the error message, such as ``--cognito-quota``.

    Returns:
        The quota, or None.

    Raises:
        SandboxError: The value is not a number from 0 to 100000.
    """
    if raw is None:
        return None
    return number(raw, where, QUOTA_EXPECTED, low=0.0, high=MAX_QUOTA_PER_S)


def check_seed(raw: object, where: str) -> int | None:
    """Validate a seed given on a command line or as an argument.

    Args:
        raw: The seed, or None for an unpredictable one.
        where: Names the value in the error message, such as ``--seed``.

    Returns:
        The seed, or None.

    Raises:
        SandboxError: The value is not an integer from 0 to 2**63-1.
    """
    if raw is None:
        return None
    return integer(raw, where, SEED_EXPECTED, low=0, high=MAX_SEED)


@dataclass(frozen=True)
class _ItemSyntax:
    """How one kind of knob is written as ``KEY=VALUE`` items."""

    flag: str
    placeholder: str
    example: str


_ITEM_SYNTAX: dict[KnobKind, _ItemSyntax] = {
    "latency_ms": _ItemSyntax("--latency", "KEY=MS", "list_rooms=200"),
    "error_rate": _ItemSyntax("--error-rate", "KEY=FRACTION", "post_message=0.05"),
    "faults": _ItemSyntax(
        "--fault", "KEY=RATE:KIND[:ARG]", "list_messages=0.05:status:429"
    ),
}
_ENV: dict[KnobKind, str] = {"latency_ms": LATENCY_ENV, "error_rate": ERROR_RATE_ENV}


def parse_items(kind: KnobKind, items: Iterable[str], source: str) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` items into knob values as JSON.

    Args:
        kind: Which knob the items set.
        items: The items, such as ``["list_rooms=200", "get_me=lognormal:80:0.5"]``.
        source: The flag or environment variable they came from, for error messages.

    Returns:
        The values by endpoint key, in the JSON form :func:`parse_update` reads; a
        later item for the same key wins.

    Raises:
        SandboxError: An item is not ``KEY=VALUE`` or its key or value is invalid.
    """
    syntax = _ITEM_SYNTAX[kind]
    knobs: dict[str, Any] = {}
    for item in items:
        where = f"{source} {item!r}"
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise SandboxError(
                f"{where}: expected {syntax.placeholder}, e.g. {syntax.example!r}"
            )
        key = check_key(key.strip(), where)
        if kind == "latency_ms":
            knobs[key] = parse_latency_text(raw.strip(), where).to_json()
        elif kind == "faults":
            knobs[key] = parse_fault_text(raw.strip(), where).to_json()
        else:
            knobs[key] = error_rate_fault(raw.strip(), where).rate
    return knobs


_KIND_NAMES: dict[str, KnobKind] = {
    "latency": "latency_ms",
    "latency_ms": "latency_ms",
    "error_rate": "error_rate",
    "fault": "faults",
    "faults": "faults",
}


@overload
def parse_knobs(
    kind: Literal["latency", "latency_ms"], items: Iterable[str]
) -> dict[str, LatencySpec]: ...


@overload
def parse_knobs(
    kind: Literal["error_rate"], items: Iterable[str]
) -> dict[str, float]: ...


@overload
def parse_knobs(
    kind: Literal["fault", "faults"], items: Iterable[str]
) -> dict[str, FaultSpec]: ...


def parse_knobs(kind: str, items: Iterable[str]) -> dict[str, Any]:
    """Parse the values of a repeatable ``--latency``, ``--error-rate`` or ``--fault`` flag.

    For command lines built outside this package, such as ``loadgate sandbox up``;
    errors name the flag the same way ``python -m sandbox up`` does.

    Args:
        kind: ``"latency"`` (or ``"latency_ms"``), ``"error_rate"`` or ``"fault"``
            (or ``"faults"``).
        items: The flag's values, such as ``["list_rooms=200", "get_me=fixed:50"]``.

    Returns:
        The knobs by endpoint key, ready for :func:`sandbox.start`: milliseconds or
        distribution objects, fractions, or fault objects.

    Raises:
        SandboxError: ``kind`` is unknown, or an item is not a valid ``KEY=VALUE``.
    """
    if kind not in _KIND_NAMES:
        raise SandboxError(
            f"knob kind must be 'latency', 'error_rate' or 'fault', got {kind!r}"
        )
    canonical = _KIND_NAMES[kind]
    return parse_items(canonical, items, _ITEM_SYNTAX[canonical].flag)


def parse_env(kind: KnobKind, environ: Mapping[str, str]) -> dict[str, Any]:
    """Parse the environment variable of ``kind``, such as ``SANDBOX_LATENCY``.

    Args:
        kind: ``"latency_ms"`` or ``"error_rate"``; faults have no variable.
        environ: The environment, usually ``os.environ``.

    Returns:
        The knobs the variable sets, as JSON values; empty when it is unset or blank.

    Raises:
        SandboxError: The variable holds an invalid item.
    """
    name = _ENV.get(kind)
    if name is None:
        return {}
    items = [part for part in environ.get(name, "").split(",") if part.strip()]
    return parse_items(kind, items, name)


class Draw(NamedTuple):
    """What happens to one request: its added delay and its fault, if any."""

    delay_ms: float
    fault: Fault | None


class Knobs:
    """The live knob table of one chat API process, safe to share between requests.

    Args:
        initial: Knobs to apply at once; every endpoint starts with no latency and no
            fault otherwise.
        rng: The random source for latencies and faults; a fresh one when None.
    """

    def __init__(
        self, initial: KnobUpdate | None = None, *, rng: random.Random | None = None
    ) -> None:
        self._lock = threading.Lock()
        self._rng = rng or random.Random()
        self._latency: dict[str, Latency] = dict.fromkeys(ENDPOINT_KEYS, NO_LATENCY)
        self._faults: dict[str, Fault] = dict.fromkeys(ENDPOINT_KEYS, NO_FAULT)
        self._quota: float | None = None
        self._seed: int | None = None
        if initial is not None:
            self.apply(initial)

    def apply(self, update: KnobUpdate) -> None:
        """Merge a validated change in.

        Args:
            update: The change, from :func:`parse_update`.
        """
        with self._lock:
            self._latency.update(update.latency)
            self._faults.update(update.faults)
            if update.set_quota:
                self._quota = update.quota_per_s
            if update.set_seed:
                self._seed = update.seed
                self._rng.seed(update.seed)

    def draw(self, key: str) -> Draw:
        """Decide the fate of one request to an endpoint.

        Two draws are made, always in this order, so a seeded sequence of requests
        is reproducible: the delay (only a log-normal latency consumes random
        numbers), then one ``random()`` compared with the fault's rate.

        Args:
            key: The endpoint key.

        Returns:
            The delay in milliseconds and the fault to inject, or None.
        """
        with self._lock:
            delay_ms = self._latency.get(key, NO_LATENCY).sample(self._rng)
            fault = self._faults.get(key, NO_FAULT)
            chance = self._rng.random()
        return Draw(delay_ms, fault if chance < fault.rate else None)

    def cognito_quota_per_s(self) -> float | None:
        """Return the sign-in quota of the Cognito proxy.

        Returns:
            Sign-ins per second, or None for no limit.
        """
        return self._quota

    def snapshot(self) -> KnobTable:
        """Return a copy of every knob, as JSON.

        Returns:
            The table, with every endpoint key in each per-endpoint section.
        """
        with self._lock:
            return {
                "latency_ms": {k: v.to_json() for k, v in self._latency.items()},
                "error_rate": {k: v.rate for k, v in self._faults.items()},
                "faults": {k: v.to_json() for k, v in self._faults.items()},
                "cognito_quota_per_s": self._quota,
                "seed": self._seed,
            }
