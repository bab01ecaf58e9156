"""Load ``scenarios.yaml`` into frozen dataclasses, with errors a person can act on.

The file holds the target host, the Cognito settings, the endpoints with their weights,
the thresholds and the named scenarios (each a list of stages). ``${NAME}`` and
``${NAME:-default}`` in string values are read from the environment at load time;
``${ssm:NAME}``, ``${secretsmanager:ID}`` and ``${secretsmanager:ID#KEY}`` are read from
AWS SSM Parameter Store and Secrets Manager (see :mod:`auth._secrets`). That is how
secrets get in. Every validation error names the file, the key path (for example
``scenarios.demo.stages[1].users``), the bad value and what would be accepted.

This module is plain Python (no locust import) so that reporting can use it.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from loadgate.errors import ConfigError

__all__ = [
    "AUTH_REQUEST_TYPE",
    "DEFAULT_APDEX_T_MS",
    "DEFAULT_MIN_SAMPLES",
    "DEFAULT_REQUEST_TIMEOUT_S",
    "DEFAULT_SCENARIOS_PATH",
    "METRICS",
    "TOTAL",
    "AuthConfig",
    "Endpoint",
    "Limits",
    "Scenario",
    "ScenarioFile",
    "Stage",
    "TargetEnvironment",
    "TargetProfile",
    "TestUsers",
    "Threshold",
    "WaitTime",
    "load_scenarios",
]

DEFAULT_SCENARIOS_PATH = Path(__file__).resolve().parent.parent / "scenarios.yaml"

TOTAL = "total"
"""The endpoint name a threshold uses for the whole stage (all endpoints together)."""

AUTH_REQUEST_TYPE = "cognito"
"""Request type of Cognito calls in Locust's stats; thresholds and stage totals leave
them out."""

METRICS: Mapping[str, str] = {
    "mean_ms": "mean response time (ms)",
    "p50_ms": "median response time (ms)",
    "p90_ms": "90th percentile response time (ms)",
    "p95_ms": "95th percentile response time (ms)",
    "p99_ms": "99th percentile response time (ms)",
    "max_ms": "maximum response time (ms)",
    "availability_pct": "share of requests that succeeded (%)",
    "error_rate_pct": "share of requests that failed (%)",
    "throughput_rps": "completed requests per second of stage time",
    "throughput_rpm": "completed requests per minute of stage time",
}
"""Every metric a threshold may name, with what it measures."""

DEFAULT_MIN_SAMPLES = 100
"""Fewest requests a stage x endpoint needs before its thresholds are judged."""

DEFAULT_REQUEST_TIMEOUT_S = 60.0
"""Locust's own: how long a request may wait before it fails as timed out."""

DEFAULT_APDEX_T_MS = 500.0
"""APDEX target time T of an endpoint that sets no ``apdex_t_ms``."""

_AUTH_FLOWS = {
    "ADMIN_USER_PASSWORD_AUTH": "ADMIN_USER_PASSWORD_AUTH",
    "ADMIN_NO_SRP_AUTH": "ADMIN_USER_PASSWORD_AUTH",
    "USER_PASSWORD_AUTH": "USER_PASSWORD_AUTH",
    "USER_SRP_AUTH": "USER_SRP_AUTH",
}
_HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_ENV_REF = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}"
)
_SECRET_REF = re.compile(
    r"\$\{(?P<source>ssm|secretsmanager):(?P<ref>[^}#\-][^}#]*)(?:#(?P<key>[^}]+))?\}"
)
# One pass over both kinds, so a value that was filled in is never read again.
_REFERENCE = re.compile(f"{_SECRET_REF.pattern}|{_ENV_REF.pattern}")
_RATE_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class Endpoint:
    """One route of the API under test.

    Attributes:
        key: The endpoint's name in scenarios.yaml, e.g. ``list_rooms``.
        method: HTTP method.
        path: Path template; ``{room_id}`` is filled in per request.
        weight: Relative share of requests that go to this endpoint.
        auth: Whether the request carries the Cognito token.
        apdex_t_ms: APDEX target time T: a response within T satisfies, within 4T
            is tolerated, slower (or failed) frustrates.
    """

    key: str
    method: str
    path: str
    weight: float
    auth: bool = True
    apdex_t_ms: float = DEFAULT_APDEX_T_MS

    @property
    def label(self) -> str:
        """The endpoint as people read it, e.g. ``GET /api/v1/rooms``."""
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Stage:
    """One step of a staged load: hold ``users`` for ``duration_s`` seconds.

    Attributes:
        name: Stage name shown in reports, e.g. ``Peak``.
        users: Concurrent virtual users during the stage.
        spawn_rate: Users started (or stopped) per second while ramping to ``users``.
        duration_s: Stage length in seconds, ramp included.
        rate_per_s: Target request rate of the whole stage; users are paced to reach
            it instead of thinking between requests. None for a think-time stage.
    """

    name: str
    users: int
    spawn_rate: float
    duration_s: float
    rate_per_s: float | None = None

    @property
    def pacing_s(self) -> float | None:
        """Seconds between two sends of one user in a rate stage, else None."""
        return None if self.rate_per_s is None else self.users / self.rate_per_s


@dataclass(frozen=True)
class Threshold:
    """A limit on one metric, checked per stage and endpoint.

    Attributes:
        metric: One of :data:`METRICS`.
        op: ``below`` (value must be < limit) or ``at_least`` (value must be >= limit).
        limit: The number the measured value is compared with.
        stages: Stage names it applies to; empty means every stage.
        endpoints: Endpoint keys it applies to, :data:`TOTAL` for the whole stage;
            empty means every endpoint and the total.
    """

    metric: str
    op: Literal["below", "at_least"]
    limit: float
    stages: tuple[str, ...] = ()
    endpoints: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The threshold as a short formula, e.g. ``p95_ms < 1000``."""
        sign = "<" if self.op == "below" else ">="
        return f"{self.metric} {sign} {self.limit:g}"

    def passes(self, value: float) -> bool:
        """Tell whether a measured value meets this threshold."""
        return value < self.limit if self.op == "below" else value >= self.limit

    def applies_to(self, stage: str, endpoint: str) -> bool:
        """Tell whether this threshold is checked for a stage and endpoint."""
        in_stage = not self.stages or stage in self.stages
        in_endpoints = not self.endpoints or endpoint in self.endpoints
        return in_stage and in_endpoints

    def to_dict(self) -> dict[str, Any]:
        """Return the threshold as plain JSON-ready data (see :meth:`from_dict`)."""
        return {
            "metric": self.metric,
            "op": self.op,
            "limit": self.limit,
            "stages": list(self.stages),
            "endpoints": list(self.endpoints),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Threshold:
        """Rebuild a threshold written by :meth:`to_dict`."""
        op = data["op"]
        if op not in ("below", "at_least"):
            raise ConfigError(f"threshold op {op!r} is not 'below' or 'at_least'")
        return cls(
            metric=str(data["metric"]),
            op=op,
            limit=float(data["limit"]),
            stages=tuple(data.get("stages", ())),
            endpoints=tuple(data.get("endpoints", ())),
        )


@dataclass(frozen=True)
class TargetProfile:
    """Production limits a load can trip, as ``target_profile`` in scenarios.yaml.

    Every limit is optional (None: not known). Reports relate findings to them, and
    ``loadgate run`` warns before a scenario that would pass one.

    Attributes:
        api_rate_rps: API Gateway steady-state rate limit (requests per second).
        api_burst: API Gateway burst limit (requests at once).
        waf_limit: AWS WAF rate-based rule: requests one IP may send per window.
        waf_window_s: The WAF rule's evaluation window in seconds.
        lambda_concurrency: Lambda reserved concurrency of the API's function.
        aurora_max_connections: Most connections the Aurora cluster accepts.
        generator_ips: Source IPs the load comes from (the WAF counts per IP).
    """

    api_rate_rps: float | None = None
    api_burst: float | None = None
    waf_limit: float | None = None
    waf_window_s: float = 300.0
    lambda_concurrency: float | None = None
    aurora_max_connections: float | None = None
    generator_ips: int = 1

    @property
    def empty(self) -> bool:
        """Whether no limit at all is known."""
        limits = (
            self.api_rate_rps,
            self.api_burst,
            self.waf_limit,
            self.lambda_concurrency,
            self.aurora_max_connections,
        )
        return all(limit is None for limit in limits)

    def to_dict(self) -> dict[str, Any]:
        """Return the profile in scenarios.yaml's nested shape (see :meth:`from_dict`)."""
        return {
            "api_gateway": {"rate_rps": self.api_rate_rps, "burst": self.api_burst},
            "waf": {"limit": self.waf_limit, "window_s": self.waf_window_s},
            "lambda": {"reserved_concurrency": self.lambda_concurrency},
            "aurora": {"max_connections": self.aurora_max_connections},
            "generator_ips": self.generator_ips,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetProfile:
        """Rebuild a profile written by :meth:`to_dict` (missing keys: unknown).

        Raises:
            ConfigError: A limit is not a number above 0.
        """

        def limit(section: str, key: str) -> float | None:
            value = (data.get(section) or {}).get(key)
            if value is None:
                return None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(
                    f"target_profile.{section}.{key}: {value!r} is not a number"
                )
            if value <= 0:
                raise ConfigError(
                    f"target_profile.{section}.{key}: {value!r} is not above 0"
                )
            return float(value)

        window = (data.get("waf") or {}).get("window_s")
        ips = data.get("generator_ips", 1)
        if isinstance(ips, bool) or not isinstance(ips, int) or ips < 1:
            raise ConfigError(
                f"target_profile.generator_ips: {ips!r} is not a whole number >= 1"
            )
        return cls(
            api_rate_rps=limit("api_gateway", "rate_rps"),
            api_burst=limit("api_gateway", "burst"),
            waf_limit=limit("waf", "limit"),
            waf_window_s=300.0 if window is None else limit("waf", "window_s") or 300.0,
            lambda_concurrency=limit("lambda", "reserved_concurrency"),
            aurora_max_connections=limit("aurora", "max_connections"),
            generator_ips=ips,
        )


@dataclass(frozen=True)
class WaitTime:
    """Think time between a virtual user's requests, uniform in [min_s, max_s]."""

    min_s: float
    max_s: float


@dataclass(frozen=True)
class TestUsers:
    """The pool of Cognito test users that virtual users sign in as.

    Attributes:
        prefix: Username prefix; users are ``{prefix}{index:04d}``.
        count: How many test users exist.
        password: Their password (never shown in a repr, a log or a report).
    """

    __test__ = False  # Not a pytest test class, despite the name.

    prefix: str
    count: int
    password: str = field(repr=False)

    def username(self, index: int) -> str:
        """Return the username of test user ``index`` (wrapped onto the pool)."""
        return f"{self.prefix}{index % self.count:04d}"


@dataclass(frozen=True)
class AuthConfig:
    """How virtual users get Cognito tokens.

    Attributes:
        region: AWS region of the user pool.
        user_pool_id: Cognito user pool id.
        client_id: App client id.
        flow: ``ADMIN_USER_PASSWORD_AUTH``, ``USER_PASSWORD_AUTH`` or
            ``USER_SRP_AUTH``.
        token: ``id`` or ``access``: which token is sent as the Bearer.
        endpoint_url: Cognito endpoint override; empty uses botocore's resolution.
        users: The test-user pool.
        client_secret: The app client's secret; empty for a client without one.
        refresh_fraction: Share of a token's lifetime after which it is refreshed.
        sign_in_rate: Cognito sign-in and refresh calls per second, whole run.
        max_attempts: Attempts per Cognito call when it is throttled or fails
            on the network.
    """

    region: str
    user_pool_id: str
    client_id: str
    flow: str
    token: Literal["id", "access"]
    endpoint_url: str
    users: TestUsers
    client_secret: str = field(default="", repr=False)
    refresh_fraction: float = 0.75
    sign_in_rate: float = 50.0
    max_attempts: int = 8


@dataclass(frozen=True)
class Scenario:
    """One named load scenario, ready to run.

    Attributes:
        name: Scenario name, e.g. ``demo``.
        description: What the scenario is for.
        stages: The stages in order.
        wait_time: Think time between requests.
        thresholds: The file's thresholds followed by the scenario's own.
        endpoints: Endpoints by key, with their weights.
        min_samples: Fewest requests a stage x endpoint needs to be judged; fewer
            gives "insufficient data" instead of pass or fail.
        target_profile: The production limits the load is related to.
        request_timeout_s: Seconds a request may take (to connect, or between two
            reads of the answer) before it fails as timed out.
    """

    name: str
    description: str
    stages: tuple[Stage, ...]
    wait_time: WaitTime
    thresholds: tuple[Threshold, ...]
    endpoints: Mapping[str, Endpoint]
    min_samples: int = DEFAULT_MIN_SAMPLES
    target_profile: TargetProfile = field(default_factory=lambda: TargetProfile())
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S

    @property
    def duration_s(self) -> float:
        """Total planned length of the scenario in seconds."""
        return sum(stage.duration_s for stage in self.stages)


@dataclass(frozen=True)
class TargetEnvironment:
    """A named set of hosts a run may target.

    Attributes:
        name: Environment name, e.g. ``staging``.
        hosts: Allowed origins as ``scheme://host:port`` patterns (``*`` wildcards).
        production: Runs against it need an explicit confirmation.
    """

    name: str
    hosts: tuple[str, ...]
    production: bool = False


@dataclass(frozen=True)
class Limits:
    """Upper bounds no scenario may exceed, so that no run is unbounded.

    Attributes:
        max_users: Most concurrent users in any stage.
        max_duration_s: Longest total scenario duration in seconds.
    """

    max_users: int = 2000
    max_duration_s: float = 4 * 3600


@dataclass(frozen=True)
class ScenarioFile:
    """Everything ``scenarios.yaml`` holds.

    Attributes:
        path: The file it was loaded from.
        host: Default target host.
        auth: Cognito settings.
        endpoints: Endpoints by key.
        scenarios: Scenarios by name.
        thresholds: The thresholds every scenario checks (the top-level list).
        min_samples: The file's default ``min_samples``.
        target_profile: The production limits.
    """

    path: Path
    host: str
    auth: AuthConfig
    endpoints: Mapping[str, Endpoint]
    scenarios: Mapping[str, Scenario]
    thresholds: tuple[Threshold, ...] = ()
    min_samples: int = DEFAULT_MIN_SAMPLES
    target_profile: TargetProfile = field(default_factory=lambda: TargetProfile())
    environments: Mapping[str, TargetEnvironment] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)

    def defaults(self) -> Scenario:
        """Return a stage-less scenario with the file's common thresholds and settings.

        Reports of runs that name no scenario of this file (plain Locust CSVs) are
        judged by it.
        """
        return Scenario(
            name=self.path.name,
            description="the thresholds and settings common to every scenario",
            stages=(),
            wait_time=WaitTime(0.0, 0.0),
            thresholds=self.thresholds,
            endpoints=self.endpoints,
            min_samples=self.min_samples,
            target_profile=self.target_profile,
        )

    def scenario(self, name: str) -> Scenario:
        """Return the scenario called ``name``.

        Raises:
            ConfigError: No scenario has that name; the message lists the known ones.
        """
        if name in self.scenarios:
            return self.scenarios[name]
        known = ", ".join(sorted(self.scenarios))
        hint = _did_you_mean(name, self.scenarios)
        raise ConfigError(
            f"{self.path.name}: scenarios: no scenario {name!r}{hint}; "
            f"known scenarios: {known}"
        )


def load_scenarios(
    path: Path | str = DEFAULT_SCENARIOS_PATH, env: Mapping[str, str] | None = None
) -> ScenarioFile:
    """Read, interpolate and validate a scenarios file.

    Args:
        path: The YAML file.
        env: Where ``${NAME}`` references are looked up; the process environment
            when not given.

    Returns:
        The validated contents.

    Raises:
        ConfigError: The file is missing, is not YAML, or fails validation.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the scenarios file: {exc.strerror}"
        ) from exc
    except UnicodeDecodeError as exc:
        line = _line_of(path.read_bytes(), exc.start)
        raise ConfigError(
            f"{path.name}:{line}: byte {exc.object[exc.start]:#04x} is not UTF-8; "
            "expected a UTF-8 text file"
        ) from None

    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except _DuplicateKeyError as exc:
        raise ConfigError(f"{path.name}:{exc.line}: {exc.message}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_error_message(path, text, exc)) from exc
    except ValueError as exc:
        # PyYAML turns a scalar into a Python value without a mark: an integer of
        # thousands of digits fails in int() itself.
        raise ConfigError(f"{path.name}: a value cannot be read: {exc}") from exc
    if raw is None:
        raise ConfigError(
            f"{path.name}: the file is empty; expected the sections endpoints, "
            "thresholds and scenarios (see the shipped scenarios.yaml)"
        )

    reader = _Reader(path.name, os.environ if env is None else env)
    return reader.scenario_file(raw, path)


def _line_of(raw: bytes, offset: int) -> int:
    """Return the 1-based line number of a byte offset."""
    return raw.count(b"\n", 0, offset) + 1


class _DuplicateKeyError(yaml.YAMLError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping.

    Plain YAML keeps the last of two equal keys, which would silently drop a
    scenario or a stage setting.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Any:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise _DuplicateKeyError(
                    f"key {key!r} is given twice (first on line {seen[key]}); "
                    "expected each key once per mapping",
                    line,
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _yaml_error_message(path: Path, text: str, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return f"{path.name}: YAML syntax error: {problem}"
    lines = text.splitlines()
    line = lines[mark.line].strip() if mark.line < len(lines) else ""
    context = getattr(exc, "context_mark", None)
    where = _key_path_at(lines, context.line if context is not None else mark.line)
    at = f" in {where}" if where else ""
    return (
        f"{path.name}:{mark.line + 1}:{mark.column + 1}: YAML syntax error{at}: "
        f"{problem}; the line reads {line!r}"
    )


_KEY_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<dash>-\s+)?(?P<key>[^-\s:#{\[][^:#]*?)\s*:(\s|$)"
)


def _key_path_at(lines: Sequence[str], number: int) -> str:
    """Guess the key path (``scenarios.demo.stages[1]``) of a line from indentation.

    Used only for syntax errors, where the YAML parser cannot say where it was.
    """
    stack: list[tuple[int, str]] = []
    items: dict[int, int] = {}
    for text in lines[: number + 1]:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(text) - len(text.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        match = _KEY_LINE.match(text)
        if stripped.startswith("-"):
            items[indent] = items.get(indent, -1) + 1
            parent = stack[-1][1] if stack else ""
            stack.append((indent, f"{parent}[{items[indent]}]"))
            if match is not None:
                dash_width = len(match.group("dash") or "")
                name = match.group("key").strip()
                stack.append((indent + dash_width, f"{stack[-1][1]}.{name}"))
            continue
        if match is not None:
            items = {k: v for k, v in items.items() if k < indent}
            parent = stack[-1][1] + "." if stack else ""
            stack.append((indent, parent + match.group("key").strip()))
    return stack[-1][1] if stack else ""


def _did_you_mean(word: str, choices: Sequence[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _to_float(value: str | float) -> float | None:
    """Return ``value`` as a float (inf for an int too large for one), None if no number."""
    try:
        return float(value)
    except ValueError:
        return None
    except OverflowError:
        return math.inf


@dataclass(frozen=True, repr=False)
class _Filled:
    """A value after ``${...}`` interpolation, shown in messages with its template."""

    value: str
    template: str

    def __repr__(self) -> str:
        return f"{self.value!r} (from {self.template!r})"


class _Reader:
    """Walks the parsed YAML, keeping the key path for error messages."""

    def __init__(self, filename: str, env: Mapping[str, str]) -> None:
        self.filename = filename
        self.env = env
        self.secrets: Any = None  # An auth.SecretStore, made on the first reference.

    def fail(self, where: str, value: Any, expected: str) -> ConfigError:
        return ConfigError(
            f"{self.filename}: {where}: {value!r} is not allowed; {expected}"
        )

    # Section readers, top-down.

    def scenario_file(self, raw: Any, path: Path) -> ScenarioFile:
        top = self.mapping(raw, "(top level)")
        self.known_keys(
            top,
            "(top level)",
            (
                "version",
                "target",
                "auth",
                "endpoints",
                "thresholds",
                "min_samples",
                "target_profile",
                "environments",
                "limits",
                "scenarios",
            ),
        )
        version = top.get("version", 1)
        if version != 1:
            raise self.fail("version", version, "expected 1")

        target = self.mapping(top.get("target", {}), "target")
        self.known_keys(target, "target", ("host",))
        host = self.string(target.get("host", ""), "target.host", allow_empty=True)

        endpoints = self.endpoints(top.get("endpoints"), "endpoints")
        common = self.thresholds(top.get("thresholds", []), "thresholds", endpoints)
        min_samples = self.integer(
            top.get("min_samples", DEFAULT_MIN_SAMPLES), "min_samples", minimum=1
        )
        profile = self.target_profile(top.get("target_profile"), "target_profile")
        scenarios = self.scenarios(
            top.get("scenarios"),
            endpoints,
            common,
            min_samples=min_samples,
            profile=profile,
        )
        stage_names = [s.name for item in scenarios.values() for s in item.stages]
        for index, threshold in enumerate(common):
            self.check_stage_names(
                threshold,
                list(dict.fromkeys(stage_names)),
                f"thresholds[{index}]",
                "at least one scenario",
            )
        auth = self.auth(top.get("auth", {}), "auth")
        environments = self.environments(top.get("environments"), "environments")
        limits = self.limits(top.get("limits"), "limits")
        for name, scenario in scenarios.items():
            self.check_limits(scenario, limits, f"scenarios.{name}")
        return ScenarioFile(
            path,
            host,
            auth,
            endpoints,
            scenarios,
            thresholds=tuple(common),
            min_samples=min_samples,
            target_profile=profile,
            environments=environments,
            limits=limits,
        )

    def auth(self, raw: Any, where: str) -> AuthConfig:
        section = self.mapping(raw, where)
        self.known_keys(
            section,
            where,
            (
                "region",
                "user_pool_id",
                "client_id",
                "flow",
                "token",
                "endpoint_url",
                "users",
                "client_secret",
                "refresh_fraction",
                "sign_in_rate",
                "max_attempts",
            ),
        )
        flow = self.string(
            section.get("flow", "ADMIN_USER_PASSWORD_AUTH"), f"{where}.flow"
        )
        if flow not in _AUTH_FLOWS:
            raise self.fail(
                f"{where}.flow", flow, f"expected one of {', '.join(_AUTH_FLOWS)}"
            )
        token = self.string(section.get("token", "id"), f"{where}.token")
        if token not in ("id", "access"):
            raise self.fail(f"{where}.token", token, "expected 'id' or 'access'")
        refresh_fraction = self.number(
            section.get("refresh_fraction", 0.75),
            f"{where}.refresh_fraction",
            minimum=0,
            strict=True,
            maximum=1,
            too_high="expected a fraction of the token's lifetime above 0 and at most 1",
        )

        users = self.mapping(section.get("users", {}), f"{where}.users")
        self.known_keys(users, f"{where}.users", ("prefix", "count", "password"))
        test_users = TestUsers(
            prefix=self.string(
                users.get("prefix", "loadtest-user-"), f"{where}.users.prefix"
            ),
            count=self.integer(
                users.get("count", 20), f"{where}.users.count", minimum=1
            ),
            password=self.string(
                users.get("password", ""), f"{where}.users.password", allow_empty=True
            ),
        )
        return AuthConfig(
            region=self.string(section.get("region", "us-east-1"), f"{where}.region"),
            user_pool_id=self.string(
                section.get("user_pool_id", ""),
                f"{where}.user_pool_id",
                allow_empty=True,
            ),
            client_id=self.string(
                section.get("client_id", ""), f"{where}.client_id", allow_empty=True
            ),
            flow=_AUTH_FLOWS[flow],
            token="id" if token == "id" else "access",
            endpoint_url=self.string(
                section.get("endpoint_url", ""),
                f"{where}.endpoint_url",
                allow_empty=True,
            ),
            users=test_users,
            client_secret=self.string(
                section.get("client_secret", ""),
                f"{where}.client_secret",
                allow_empty=True,
            ),
            refresh_fraction=refresh_fraction,
            sign_in_rate=self.number(
                section.get("sign_in_rate", 50),
                f"{where}.sign_in_rate",
                minimum=0,
                strict=True,
            ),
            max_attempts=self.integer(
                section.get("max_attempts", 8), f"{where}.max_attempts", minimum=1
            ),
        )

    def endpoints(self, raw: Any, where: str) -> dict[str, Endpoint]:
        section = self.mapping(raw, where)
        if not section:
            raise self.fail(where, raw, "expected at least one endpoint")
        endpoints: dict[str, Endpoint] = {}
        for key, spec in section.items():
            here = f"{where}.{key}"
            if key == TOTAL:
                raise self.fail(here, key, f"{TOTAL!r} is reserved for the whole stage")
            item = self.mapping(spec, here)
            self.known_keys(
                item, here, ("method", "path", "weight", "auth", "apdex_t_ms")
            )
            method = self.string(item.get("method", "GET"), f"{here}.method").upper()
            if method not in _HTTP_METHODS:
                raise self.fail(
                    f"{here}.method", method, f"expected one of {_HTTP_METHODS}"
                )
            endpoint_path = self.string(item.get("path"), f"{here}.path")
            if not endpoint_path.startswith("/"):
                raise self.fail(
                    f"{here}.path", endpoint_path, "expected a path starting '/'"
                )
            endpoints[str(key)] = Endpoint(
                key=str(key),
                method=method,
                path=endpoint_path,
                weight=self.number(item.get("weight", 1), f"{here}.weight", minimum=0),
                auth=self.boolean(item.get("auth", True), f"{here}.auth"),
                apdex_t_ms=self.number(
                    item.get("apdex_t_ms", DEFAULT_APDEX_T_MS),
                    f"{here}.apdex_t_ms",
                    minimum=0,
                    strict=True,
                ),
            )
        if not any(endpoint.weight > 0 for endpoint in endpoints.values()):
            raise self.fail(
                where, "all weights 0", "expected at least one weight above 0"
            )
        return endpoints

    def thresholds(
        self, raw: Any, where: str, endpoints: Mapping[str, Endpoint]
    ) -> list[Threshold]:
        return [
            self.threshold(spec, f"{where}[{index}]", endpoints)
            for index, spec in enumerate(self.sequence(raw, where))
        ]

    def threshold(
        self, raw: Any, where: str, endpoints: Mapping[str, Endpoint]
    ) -> Threshold:
        item = self.mapping(raw, where)
        self.known_keys(
            item, where, ("metric", "below", "at_least", "stages", "endpoints")
        )
        metric = self.string(item.get("metric"), f"{where}.metric")
        if metric not in METRICS:
            raise self.fail(
                f"{where}.metric",
                metric,
                f"expected one of {', '.join(METRICS)}{_did_you_mean(metric, METRICS)}",
            )
        if ("below" in item) == ("at_least" in item):
            raise self.fail(
                where, item, "expected exactly one of 'below' or 'at_least'"
            )
        op: Literal["below", "at_least"] = "below" if "below" in item else "at_least"

        names = self.scope(item, "endpoints", where, "every endpoint and the total")
        for name in names:
            if name != TOTAL and name not in endpoints:
                raise self.fail(
                    f"{where}.endpoints",
                    name,
                    f"expected '{TOTAL}' or an endpoint: {', '.join(endpoints)}"
                    f"{_did_you_mean(name, [*endpoints, TOTAL])}",
                )
        return Threshold(
            metric=metric,
            op=op,
            limit=self.limit(item[op], f"{where}.{op}", metric, op),
            stages=self.scope(item, "stages", where, "every stage"),
            endpoints=names,
        )

    def scope(
        self, item: Mapping[str, Any], key: str, where: str, whole: str
    ) -> tuple[str, ...]:
        """Read a threshold's ``stages`` or ``endpoints``: absent means ``whole``."""
        if key not in item:
            return ()
        names = self.names(item[key], f"{where}.{key}")
        if not names:
            raise self.fail(
                f"{where}.{key}",
                item[key],
                f"expected at least one name; omit the key to mean {whole}",
            )
        return tuple(names)

    def limit(self, raw: Any, where: str, metric: str, op: str) -> float:
        """Read a threshold's limit, refusing one no measured value could meet or miss.

        Every metric is 0 or more, and a percentage at most 100; so a ``below`` limit
        must be above 0.
        """
        percentage = metric.endswith("_pct")
        return self.number(
            raw,
            where,
            minimum=0,
            strict=op == "below",
            maximum=100 if percentage else None,
            noun="a percentage" if percentage else "a number",
        )

    def scenarios(
        self,
        raw: Any,
        endpoints: Mapping[str, Endpoint],
        common: Sequence[Threshold],
        *,
        min_samples: int = DEFAULT_MIN_SAMPLES,
        profile: TargetProfile | None = None,
    ) -> dict[str, Scenario]:
        section = self.mapping(raw, "scenarios")
        if not section:
            raise self.fail("scenarios", raw, "expected at least one scenario")
        scenarios = {}
        for name, spec in section.items():
            here = f"scenarios.{name}"
            item = self.mapping(spec, here)
            self.known_keys(
                item,
                here,
                (
                    "description",
                    "wait_time",
                    "stages",
                    "thresholds",
                    "min_samples",
                    "request_timeout",
                ),
            )
            stages = self.stages(item.get("stages"), f"{here}.stages")
            own = self.thresholds(
                item.get("thresholds", []), f"{here}.thresholds", endpoints
            )
            for index, threshold in enumerate(own):
                self.check_stage_names(
                    threshold,
                    [stage.name for stage in stages],
                    f"{here}.thresholds[{index}]",
                    "this scenario",
                )
            scenarios[str(name)] = Scenario(
                name=str(name),
                description=self.string(
                    item.get("description", ""), f"{here}.description", allow_empty=True
                ),
                stages=stages,
                wait_time=self.wait_time(
                    item.get("wait_time", {}), f"{here}.wait_time"
                ),
                thresholds=(*common, *own),
                endpoints=endpoints,
                min_samples=self.integer(
                    item.get("min_samples", min_samples),
                    f"{here}.min_samples",
                    minimum=1,
                ),
                target_profile=profile or TargetProfile(),
                request_timeout_s=self.number(
                    item.get("request_timeout", DEFAULT_REQUEST_TIMEOUT_S),
                    f"{here}.request_timeout",
                    minimum=0,
                    strict=True,
                ),
            )
        return scenarios

    def target_profile(self, raw: Any, where: str) -> TargetProfile:
        """Read ``target_profile``; an empty string (e.g. from ``${X:-}``) is unknown."""
        section = self.mapping(raw, where)
        sections = ("api_gateway", "waf", "lambda", "aurora")
        self.known_keys(section, where, (*sections, "generator_ips"))
        keys = {
            "api_gateway": ("rate_rps", "burst"),
            "waf": ("limit", "window_s"),
            "lambda": ("reserved_concurrency",),
            "aurora": ("max_connections",),
        }
        data: dict[str, Any] = {}
        for name in sections:
            here = f"{where}.{name}"
            part = self.mapping(section.get(name), here)
            self.known_keys(part, here, keys[name])
            data[name] = {
                key: self.optional_number(part.get(key), f"{here}.{key}")
                for key in keys[name]
            }
        data["generator_ips"] = self.integer(
            section.get("generator_ips", 1), f"{where}.generator_ips", minimum=1
        )
        return TargetProfile.from_dict(data)

    def optional_number(self, raw: Any, where: str) -> float | None:
        """Read a limit above 0, or None when it is absent or empty."""
        if raw is None or (isinstance(raw, str) and not self.interpolate(raw, where)):
            return None
        return self.number(raw, where, minimum=0, strict=True)

    def stages(self, raw: Any, where: str) -> tuple[Stage, ...]:
        items = self.sequence(raw, where)
        if not items:
            raise self.fail(where, raw, "expected a list of at least one stage")
        stages = []
        for index, spec in enumerate(items):
            here = f"{where}[{index}]"
            item = self.mapping(spec, here)
            self.known_keys(
                item, here, ("name", "users", "spawn_rate", "duration", "rate")
            )
            stages.append(
                Stage(
                    name=self.string(item.get("name"), f"{here}.name"),
                    users=self.integer(item.get("users"), f"{here}.users", minimum=1),
                    spawn_rate=self.number(
                        item.get("spawn_rate", 10),
                        f"{here}.spawn_rate",
                        minimum=0,
                        strict=True,
                    ),
                    duration_s=self.number(
                        item.get("duration"), f"{here}.duration", minimum=0, strict=True
                    ),
                    rate_per_s=self.rate(item.get("rate"), f"{here}.rate"),
                )
            )
        self.check_ramps(stages, where)
        names = [stage.name for stage in stages]
        for index, name in enumerate(names):
            if names.index(name) != index:
                raise self.fail(
                    f"{where}[{index}].name", name, "stage names must be unique"
                )
        return tuple(stages)

    def rate(self, raw: Any, where: str) -> float | None:
        """Read a request rate such as ``10000/min``, ``150/s`` or a number per second."""
        if raw is None:
            return None
        expected = "expected a rate such as '10000/min', '150/s' or a number per second"
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self.fail(where, raw, expected)
        filled: str | float = raw
        count: str | float = raw
        per: float | None = 1.0
        if isinstance(raw, str):
            filled = self.interpolate(raw, where)
            count, _, unit = filled.partition("/")
            per = _RATE_UNITS.get(unit.strip())

        value = _to_float(count)
        if value is None or per is None:
            raise self.fail(where, raw, expected)
        shown = self.shown(raw, filled)
        if not math.isfinite(value):
            raise self.fail(where, shown, "expected a finite number")
        if value / per <= 0:
            raise self.fail(where, shown, "expected a rate above 0")
        return value / per

    def environments(self, raw: Any, where: str) -> dict[str, TargetEnvironment]:
        """Read ``environments``: each a list of allowed hosts, maybe production."""
        section = self.mapping(raw, where)
        environments = {}
        for name, spec in section.items():
            here = f"{where}.{name}"
            item = self.mapping(spec, here)
            self.known_keys(item, here, ("hosts", "production"))
            hosts = tuple(self.names(item.get("hosts"), f"{here}.hosts"))
            if not hosts:
                raise self.fail(
                    f"{here}.hosts", item.get("hosts"), "expected host patterns"
                )
            for index, host in enumerate(hosts):
                if "://" not in host:
                    raise self.fail(
                        f"{here}.hosts[{index}]",
                        host,
                        "expected scheme://host[:port], e.g. 'https://api.example.com'",
                    )
            production = self.boolean(
                item.get("production", False), f"{here}.production"
            )
            environments[name] = TargetEnvironment(name, hosts, production)
        return environments

    def limits(self, raw: Any, where: str) -> Limits:
        """Read ``limits``: the most users and the longest duration any run may have."""
        item = self.mapping(raw, where)
        self.known_keys(item, where, ("max_users", "max_duration"))
        default = Limits()
        return Limits(
            max_users=self.integer(
                item.get("max_users", default.max_users),
                f"{where}.max_users",
                minimum=1,
            ),
            max_duration_s=self.number(
                item.get("max_duration", default.max_duration_s),
                f"{where}.max_duration",
                minimum=0,
                strict=True,
            ),
        )

    def check_limits(self, scenario: Scenario, limits: Limits, where: str) -> None:
        """Refuse a scenario that would run more users or longer than the limits."""
        for index, stage in enumerate(scenario.stages):
            if stage.users > limits.max_users:
                raise self.fail(
                    f"{where}.stages[{index}].users",
                    stage.users,
                    f"expected at most limits.max_users ({limits.max_users})",
                )
        if scenario.duration_s > limits.max_duration_s:
            raise self.fail(
                f"{where}.stages",
                f"{scenario.duration_s:g} s in all",
                f"expected at most limits.max_duration ({limits.max_duration_s:g} s)",
            )

    def check_ramps(self, stages: Sequence[Stage], where: str) -> None:
        """Refuse a stage whose ramp cannot finish within its duration.

        Locust's shape worker blocks until a ramp completes, so an over-long ramp
        would silently eat the stages after it.
        """
        previous = 0
        for index, stage in enumerate(stages):
            ramp_s = abs(stage.users - previous) / stage.spawn_rate
            if ramp_s > stage.duration_s:
                needed_rate = abs(stage.users - previous) / stage.duration_s
                raise ConfigError(
                    f"{self.filename}: {where}[{index}]: ramp from {previous} to "
                    f"{stage.users} users at spawn_rate {stage.spawn_rate:g}/s takes "
                    f"{ramp_s:g} s, longer than the stage's duration {stage.duration_s:g} s; "
                    f"raise spawn_rate to at least {needed_rate:.3g} or duration to at "
                    f"least {ramp_s:g}"
                )
            previous = stage.users

    def check_stage_names(
        self, threshold: Threshold, names: Sequence[str], where: str, owner: str
    ) -> None:
        """Refuse a threshold naming a stage not in ``names``, the stages of ``owner``."""
        for name in threshold.stages:
            if name not in names:
                raise self.fail(
                    f"{where}.stages",
                    name,
                    f"expected a stage of {owner}: {', '.join(names)}"
                    f"{_did_you_mean(name, names)}",
                )

    def wait_time(self, raw: Any, where: str) -> WaitTime:
        item = self.mapping(raw, where)
        self.known_keys(item, where, ("min", "max"))
        low = self.number(item.get("min", 1), f"{where}.min", minimum=0)
        high = self.number(item.get("max", low), f"{where}.max", minimum=0)
        if high < low:
            raise self.fail(f"{where}.max", high, f"expected a number >= min ({low:g})")
        return WaitTime(low, high)

    # Value readers.

    def known_keys(
        self, item: Mapping[str, Any], where: str, known: Sequence[str]
    ) -> None:
        for key in item:
            if key not in known:
                raise ConfigError(
                    f"{self.filename}: {where}: unknown key {key!r}"
                    f"{_did_you_mean(str(key), known)}; known keys: {', '.join(known)}"
                )

    def mapping(self, raw: Any, where: str) -> dict[str, Any]:
        if raw is None:
            return {}
        if not isinstance(raw, dict):
            raise self.fail(where, raw, "expected a mapping of key: value")
        return {str(key): value for key, value in raw.items()}

    def sequence(self, raw: Any, where: str) -> list[Any]:
        if raw is None:
            return []
        if not isinstance(raw, list):
            raise self.fail(where, raw, "expected a list")
        return raw

    def names(self, raw: Any, where: str) -> list[str]:
        return [
            self.string(item, f"{where}[{i}]")
            for i, item in enumerate(self.sequence(raw, where))
        ]

    def string(self, raw: Any, where: str, *, allow_empty: bool = False) -> str:
        if raw is None and allow_empty:
            return ""
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise self.fail(where, raw, "expected a string")
        value = self.interpolate(str(raw), where)
        if not value and not allow_empty:
            raise self.fail(
                where, self.shown(raw, value), "expected a non-empty string"
            )
        return value

    def interpolate(self, text: str, where: str) -> str:
        def lookup(match: re.Match[str]) -> str:
            if match.group("source") is not None:
                return self.secret(match, where)
            name, default = match.group("name"), match.group("default")
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{self.filename}: {where}: environment variable {name} is not set "
                f"(write ${{{name}:-default}} to give a default)"
            )

        return _REFERENCE.sub(lookup, text)

    def secret(self, match: re.Match[str], where: str) -> str:
        """Return the value of a ``${ssm:...}`` or ``${secretsmanager:...}``."""
        # Imported here: boto3 is slow to load and most files name no secret.
        from auth import SecretStore

        if self.secrets is None:
            self.secrets = SecretStore(self.env)
        try:
            value: str = self.secrets.resolve(
                match.group("source"), match.group("ref"), match.group("key")
            )
        except ConfigError as exc:
            raise ConfigError(f"{self.filename}: {where}: {exc}") from None
        return value

    def number(
        self,
        raw: Any,
        where: str,
        *,
        minimum: float | None = None,
        strict: bool = False,
        maximum: float | None = None,
        noun: str = "a number",
        too_high: str | None = None,
    ) -> float:
        """Read a finite number, refusing one outside the bounds given.

        Args:
            raw: The value as parsed from YAML.
            where: Its key path.
            minimum: The lowest value accepted (excluded when ``strict``).
            strict: Whether ``minimum`` itself is refused.
            maximum: The highest value accepted.
            noun: What the message calls the value, e.g. ``a percentage``.
            too_high: The message's "expected ..." for a value above ``maximum``;
                by default both bounds, which a value below ``minimum`` is then told
                too.

        Raises:
            ConfigError: The value is no finite number or is out of bounds.
        """
        value, shown = self.scalar_number(raw, where)
        low = "" if minimum is None else f"{'>' if strict else '>='} {minimum:g}"
        high = "" if maximum is None else f"<= {maximum:g}"
        bounds = f"expected {noun} {' and '.join(part for part in (low, high) if part)}"
        if minimum is not None and (value <= minimum if strict else value < minimum):
            raise self.fail(
                where, shown, f"expected {noun} {low}" if too_high else bounds
            )
        if maximum is not None and value > maximum:
            raise self.fail(where, shown, too_high or bounds)
        return value

    def integer(self, raw: Any, where: str, *, minimum: int) -> int:
        value, shown = self.scalar_number(raw, where)
        if value != int(value) or value < minimum:
            raise self.fail(where, shown, f"expected a whole number >= {minimum}")
        return int(value)

    def scalar_number(self, raw: Any, where: str) -> tuple[float, Any]:
        """Read a finite number, given as one or as text (``${...}`` filled in).

        Returns:
            The number, and the value as messages show it (see :meth:`shown`).

        Raises:
            ConfigError: The value is no number, NaN or infinite.
        """
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise self.fail(where, raw, "expected a number")
        filled = self.interpolate(raw, where) if isinstance(raw, str) else raw
        value = _to_float(filled)
        if value is None:
            # Text that is no number may be a secret in the wrong key: keep it unshown.
            raise self.fail(where, raw, "expected a number")

        shown = self.shown(raw, filled)
        if not math.isfinite(value):
            raise self.fail(where, shown, "expected a finite number")
        return value, shown

    def shown(self, raw: Any, filled: str | float) -> Any:
        """Return a value as messages show it: with what ``${...}`` made of it.

        A value read from AWS (``${ssm:...}``, ``${secretsmanager:...}``) shows only its
        template, so that no secret reaches a message.
        """
        if not isinstance(raw, str) or filled == raw or _SECRET_REF.search(raw):
            return raw
        return _Filled(str(filled), raw)

    def boolean(self, raw: Any, where: str) -> bool:
        if not isinstance(raw, bool):
            raise self.fail(where, raw, "expected true or false")
        return raw
