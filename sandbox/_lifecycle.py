"""Starting, checking and stopping a sandbox: emulator, Cognito data and chat API.

:func:`start` runs four steps and undoes the ones done if a later one fails:

1. the moto server, in its own session, on a free port of 127.0.0.1;
2. provisioning: user pool, app client and test users;
3. the chat API process, in its own session, once the pool exists: the API, its
   control port and the Cognito quota proxy, each on a free port;
4. the schedule, if one was given, posted to the control port; its ``after_s`` count
   from then.

Only then is ``state.json`` written. :func:`stop` reads it, stops both process groups
and removes it; with nothing running it does nothing.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import NamedTuple

from loadgate.errors import SandboxError
from sandbox import _procs
from sandbox._client import SandboxControl
from sandbox._cognito import REGION, check_password, generate_password, provision
from sandbox._faults import FaultSpec
from sandbox._knobs import (
    ERROR_RATE_ENV,
    LATENCY_ENV,
    KnobUpdate,
    parse_env,
    parse_update,
)
from sandbox._latency import LatencySpec
from sandbox._proxy import STATS_PATH
from sandbox._schedule import parse_steps
from sandbox._state import STATE_FILE, SandboxState, write_state

logger = logging.getLogger(__name__)

DEFAULT_USERS = 20
DEFAULT_USER_PREFIX = "loadtest-user-"
MAX_USERS = 1000
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 5.0

MOTO_LOG = "moto.log"
API_LOG = "api.log"
REQUEST_LOG = "requests.jsonl"
_MOTO_MARKER = "moto.server"
_API_MARKER = "_api_main.py"
# Probed for readiness instead of /health, so probes stay out of the request log.
READY_PATH = "/_sandbox/ready"
_API_SCRIPT = Path(__file__).with_name("_api_main.py")
_NO_KNOBS: Mapping[str, float] = MappingProxyType({})
_NO_FAULTS: Mapping[str, FaultSpec] = MappingProxyType({})


class Sandbox:
    """One sandbox, described by its state directory and start options.

    Every option is checked here, before anything starts. Used as a context manager,
    the sandbox starts on entry and always stops on exit.

    Args:
        state_dir: Holds ``state.json``, logs, the request log and the chat database.
        users: How many test users to create, from 1 to 1000.
        user_prefix: Test users are named ``{user_prefix}{i:04d}``.
        password: Every test user's password; a random one when None.
        latency_ms: Added latency by endpoint key: milliseconds, or a distribution
            such as ``{"dist": "lognormal", "median_ms": 80, "sigma": 0.5}``. Keys
            not given here fall back to ``SANDBOX_LATENCY``.
        error_rate: Fraction of requests answered 500, by endpoint key. Keys not
            given here or in ``faults`` fall back to ``SANDBOX_ERROR_RATE``.
        faults: Faults by endpoint key, such as ``{"rate": 0.05, "kind": "status",
            "status": 429}``; an endpoint may be in ``error_rate`` or here, not both.
        cognito_quota_per_s: Sign-in calls per second the Cognito proxy lets
            through before it answers ``TooManyRequestsException``; None for no limit.
        seed: Seeds the random source of latencies and faults, for reproducible runs.
        schedule: Steps such as ``{"after_s": 15, "knobs": {...}}``, started once the
            sandbox is ready; see :mod:`sandbox._schedule`.
        ready_timeout: Seconds each process may take to become ready.

    Raises:
        SandboxError: An option is invalid; the message names it and its value.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        users: int = DEFAULT_USERS,
        user_prefix: str = DEFAULT_USER_PREFIX,
        password: str | None = None,
        latency_ms: Mapping[str, LatencySpec] = _NO_KNOBS,
        error_rate: Mapping[str, float] = _NO_KNOBS,
        faults: Mapping[str, FaultSpec] = _NO_FAULTS,
        cognito_quota_per_s: float | None = None,
        seed: int | None = None,
        schedule: Sequence[Mapping[str, object]] = (),
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        _check_users(users, user_prefix)
        if password is not None:
            check_password(password)
        if isinstance(ready_timeout, bool) or not ready_timeout > 0:
            raise SandboxError(
                f"ready_timeout must be a positive number of seconds, got {ready_timeout!r}"
            )

        self.state_dir = Path(state_dir).resolve()
        self._users = users
        self._user_prefix = user_prefix
        self._password = password
        self._knobs = _start_knobs(
            latency_ms, error_rate, faults, cognito_quota_per_s, seed
        )
        parse_steps(schedule, "schedule")
        self._schedule = list(schedule)
        self._ready_timeout = ready_timeout

    def start(self) -> SandboxState:
        """Start the emulator and the chat API, provision Cognito, write the state.

        Returns:
            The state of the running sandbox, also saved in ``state.json``.

        Raises:
            SandboxError: A sandbox already runs in the directory, a knob environment
                variable is invalid, or a step failed; nothing is left running then.
        """
        _prepare(self.state_dir)
        from_env = {
            "latency_ms": parse_env("latency_ms", os.environ),
            "error_rate": parse_env("error_rate", os.environ),
        }
        knobs = parse_update(from_env).then(self._knobs)
        password = self._password or generate_password()

        started: dict[str, int] = {}
        try:
            state = self._launch(started, password, knobs)
        except BaseException:
            _cleanup(started)
            raise

        write_state(self.state_dir, state)
        logger.info(
            "sandbox started: api %s, cognito %s, user count %s; state in %s",
            state.api_url,
            state.cognito_endpoint,
            state.user_count,
            self.state_dir,
        )
        return state

    def _launch(
        self, started: dict[str, int], password: str, knobs: KnobUpdate
    ) -> SandboxState:
        """Run the start steps, recording each pid in ``started`` at once."""
        moto_url = _start_moto(self.state_dir, started, self._ready_timeout)
        pool = provision(
            moto_url,
            region=REGION,
            users=self._users,
            user_prefix=self._user_prefix,
            password=password,
        )

        urls = _start_api(
            self.state_dir,
            started,
            self._ready_timeout,
            [
                *("--cognito-endpoint", moto_url, "--region", REGION),
                *("--user-pool-id", pool.user_pool_id, "--client-id", pool.client_id),
                *("--knobs", json.dumps(knobs.to_json())),
            ],
        )
        if self._schedule:
            SandboxControl(urls.control).schedule(self._schedule)
        return SandboxState(
            api_url=urls.api,
            control_url=urls.control,
            cognito_endpoint=urls.proxy,
            cognito_upstream=moto_url,
            region=REGION,
            user_pool_id=pool.user_pool_id,
            client_id=pool.client_id,
            user_prefix=self._user_prefix,
            user_count=self._users,
            password=password,
            request_log=self.state_dir / REQUEST_LOG,
            pids=dict(started),
        )

    def stop(self) -> bool:
        """Stop this sandbox; see :func:`stop`.

        Returns:
            True if a process was stopped.
        """
        return stop(self.state_dir)

    def __enter__(self) -> SandboxState:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start(
    state_dir: Path,
    *,
    users: int = DEFAULT_USERS,
    user_prefix: str = DEFAULT_USER_PREFIX,
    password: str | None = None,
    latency_ms: Mapping[str, LatencySpec] = _NO_KNOBS,
    error_rate: Mapping[str, float] = _NO_KNOBS,
    faults: Mapping[str, FaultSpec] = _NO_FAULTS,
    cognito_quota_per_s: float | None = None,
    seed: int | None = None,
    schedule: Sequence[Mapping[str, object]] = (),
    ready_timeout: float = READY_TIMEOUT,
) -> SandboxState:
    """Start a sandbox and return once both processes serve; see :class:`Sandbox`.

    Args:
        state_dir: Holds ``state.json``, logs, the request log and the chat database.
        users: How many test users to create, from 1 to 1000.
        user_prefix: Test users are named ``{user_prefix}{i:04d}``.
        password: Every test user's password; a random one when None.
        latency_ms: Added latency by endpoint key: milliseconds or a distribution.
        error_rate: Fraction of requests answered 500, by endpoint key.
        faults: Faults by endpoint key, such as ``{"rate": 0.1, "kind": "reset"}``.
        cognito_quota_per_s: Sign-ins per second the Cognito proxy allows; None for
            no limit.
        seed: Seeds the random source of latencies and faults.
        schedule: Knob changes and outages to apply over time, once ready.
        ready_timeout: Seconds each process may take to become ready.

    Returns:
        The state of the running sandbox, also saved in ``state.json``.

    Raises:
        SandboxError: An option is invalid, a sandbox already runs there, or a step
            failed; nothing is left running then.
    """
    sandbox = Sandbox(
        state_dir,
        users=users,
        user_prefix=user_prefix,
        password=password,
        latency_ms=latency_ms,
        error_rate=error_rate,
        faults=faults,
        cognito_quota_per_s=cognito_quota_per_s,
        seed=seed,
        schedule=schedule,
        ready_timeout=ready_timeout,
    )
    return sandbox.start()


def stop(state_dir: Path, *, timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the sandbox recorded in a directory and remove its ``state.json``.

    Each process group gets SIGTERM, then SIGKILL if it outlives ``timeout``. Calling
    this with nothing running does nothing.

    Args:
        state_dir: The sandbox's state directory.
        timeout: Seconds to wait for each process after SIGTERM.

    Returns:
        True if a process was stopped; False if none was running.

    Raises:
        SandboxError: ``state.json`` is malformed, or a process survived SIGKILL.
    """
    state_dir = Path(state_dir).resolve()
    if not (state_dir / STATE_FILE).exists():
        logger.debug("no sandbox state in %s: nothing to stop", state_dir)
        return False

    state = SandboxState.load(state_dir)
    stopped = _stop_pids(state.pids, timeout)
    (state_dir / STATE_FILE).unlink(missing_ok=True)
    logger.info(
        "sandbox in %s stopped: %s", state_dir, "yes" if stopped else "was down"
    )
    return stopped


def status(state_dir: Path) -> SandboxState:
    """Check that the sandbox recorded in a directory runs and answers.

    Args:
        state_dir: The sandbox's state directory.

    Returns:
        The state of the running sandbox.

    Raises:
        SandboxError: No sandbox is recorded there, a process is gone, the control
            port does not answer, or the chat API does not answer outside an outage.
    """
    state_dir = Path(state_dir).resolve()
    state = SandboxState.load(state_dir)
    for role, pid in state.pids.items():
        if not _procs.is_alive(pid):
            raise SandboxError(
                f"sandbox in {str(state_dir)!r} is broken: {role} (pid {pid}) is not "
                "running; clean up with `python -m sandbox down`"
            )

    probes = [f"{state.control_url}{READY_PATH}"]
    if state.control_url != state.api_url and not _api_is_down(state):
        probes.append(f"{state.api_url}{READY_PATH}")
    for probe in probes:
        if _procs.http_status(probe) != 200:
            raise SandboxError(
                f"sandbox in {str(state_dir)!r} is broken: {probe} does not answer "
                f"200; see {API_LOG} there"
            )
    return state


def _api_is_down(state: SandboxState) -> bool:
    """Tell whether an outage has the chat API down on purpose."""
    try:
        return SandboxControl(state.control_url).outage_status()["down"]
    except SandboxError:
        return False


@contextmanager
def running(
    state_dir: Path,
    *,
    users: int = DEFAULT_USERS,
    user_prefix: str = DEFAULT_USER_PREFIX,
    password: str | None = None,
    latency_ms: Mapping[str, LatencySpec] = _NO_KNOBS,
    error_rate: Mapping[str, float] = _NO_KNOBS,
    faults: Mapping[str, FaultSpec] = _NO_FAULTS,
    cognito_quota_per_s: float | None = None,
    seed: int | None = None,
    schedule: Sequence[Mapping[str, object]] = (),
    ready_timeout: float = READY_TIMEOUT,
) -> Iterator[SandboxState]:
    """Run a sandbox for the duration of a ``with`` block; it always stops after.

    Args:
        state_dir: Holds ``state.json``, logs, the request log and the chat database.
        users: How many test users to create, from 1 to 1000.
        user_prefix: Test users are named ``{user_prefix}{i:04d}``.
        password: Every test user's password; a random one when None.
        latency_ms: Added latency by endpoint key: milliseconds or a distribution.
        error_rate: Fraction of requests answered 500, by endpoint key.
        faults: Faults by endpoint key, such as ``{"rate": 0.1, "kind": "reset"}``.
        cognito_quota_per_s: Sign-ins per second the Cognito proxy allows; None for
            no limit.
        seed: Seeds the random source of latencies and faults.
        schedule: Knob changes and outages to apply over time, once ready.
        ready_timeout: Seconds each process may take to become ready.

    Yields:
        The state of the running sandbox.

    Raises:
        SandboxError: The sandbox could not start or stop.
    """
    sandbox = Sandbox(
        state_dir,
        users=users,
        user_prefix=user_prefix,
        password=password,
        latency_ms=latency_ms,
        error_rate=error_rate,
        faults=faults,
        cognito_quota_per_s=cognito_quota_per_s,
        seed=seed,
        schedule=schedule,
        ready_timeout=ready_timeout,
    )
    with sandbox as state:
        yield state


def _check_users(users: int, user_prefix: str) -> None:
    """Refuse a user count or prefix Cognito or the sandbox cannot use."""
    if isinstance(users, bool) or not isinstance(users, int):
        raise SandboxError(
            f"users must be an integer from 1 to {MAX_USERS}, got {users!r}"
        )
    if not 1 <= users <= MAX_USERS:
        raise SandboxError(
            f"users must be an integer from 1 to {MAX_USERS}, got {users!r}"
        )
    if (
        not user_prefix
        or len(user_prefix) > 100
        or any(c.isspace() for c in user_prefix)
    ):
        raise SandboxError(
            "user_prefix must be 1 to 100 characters without whitespace, "
            f"got {user_prefix!r}"
        )


def _prepare(state_dir: Path) -> None:
    """Create the state directory and refuse it while another sandbox runs there."""
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise SandboxError(
            f"cannot create the state directory {str(state_dir)!r}: {exc}"
        ) from exc
    if not (state_dir / STATE_FILE).exists():
        return

    previous = SandboxState.load(state_dir)
    if any(_procs.is_alive(pid) for pid in previous.pids.values()):
        raise SandboxError(
            f"a sandbox already runs in {str(state_dir)!r} (api {previous.api_url}); "
            "stop it with `python -m sandbox down` or use another --state-dir"
        )
    logger.info("stale %s in %s (processes gone): replacing it", STATE_FILE, state_dir)
    (state_dir / STATE_FILE).unlink()


def _child_env() -> dict[str, str]:
    """Return the environment of both children.

    The package's parent directory goes first on ``PYTHONPATH`` so the API script
    finds ``sandbox`` and ``loadgate`` whether or not they are installed. Knob
    variables are dropped: the parent resolved them and passes flags instead.
    """
    env = dict(os.environ)
    for name in (LATENCY_ENV, ERROR_RATE_ENV):
        env.pop(name, None)

    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    no_proxy = env.get("NO_PROXY", "")
    env["NO_PROXY"] = ",".join(p for p in (no_proxy, "127.0.0.1", "localhost") if p)
    return env


def _start_moto(state_dir: Path, started: dict[str, int], timeout: float) -> str:
    """Start the moto server and return its endpoint once it answers HTTP."""
    port = _procs.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    log_path = state_dir / MOTO_LOG

    started["moto"] = _procs.spawn(command, log_path, _child_env())
    _procs.wait_ready(
        "moto",
        started["moto"],
        lambda: _procs.http_status(f"{endpoint}/moto-api/") is not None,
        log_path,
        timeout,
    )
    return endpoint


class _Urls(NamedTuple):
    """Where the chat API process listens."""

    api: str
    control: str
    proxy: str


def _start_api(
    state_dir: Path, started: dict[str, int], timeout: float, options: list[str]
) -> _Urls:
    """Start the chat API process; return its URLs once all three listeners answer."""
    ports = [_procs.free_port() for _ in range(3)]
    urls = _Urls(*(f"http://127.0.0.1:{port}" for port in ports))
    # -P: the script's directory must not shadow stdlib modules on sys.path.
    command = [sys.executable, "-P", str(_API_SCRIPT), "--port", str(ports[0])]
    command += ["--control-port", str(ports[1]), "--proxy-port", str(ports[2])]
    command += ["--state-dir", str(state_dir), *options]
    log_path = state_dir / API_LOG
    probes = (
        f"{urls.api}{READY_PATH}",
        f"{urls.control}{READY_PATH}",
        f"{urls.proxy}{STATS_PATH}",
    )

    started["api"] = _procs.spawn(command, log_path, _child_env())
    _procs.wait_ready(
        "chat api",
        started["api"],
        lambda: all(_procs.http_status(probe) == 200 for probe in probes),
        log_path,
        timeout,
    )
    return urls


def _start_knobs(
    latency_ms: Mapping[str, object],
    error_rate: Mapping[str, object],
    faults: Mapping[str, object],
    cognito_quota_per_s: object,
    seed: object,
) -> KnobUpdate:
    """Check the knob arguments of :class:`Sandbox` as one knob change."""
    body: dict[str, object] = {
        "latency_ms": latency_ms,
        "error_rate": error_rate,
        "faults": faults,
    }
    if cognito_quota_per_s is not None:
        body["cognito_quota_per_s"] = cognito_quota_per_s
    if seed is not None:
        body["seed"] = seed
    return parse_update(body)


def _cleanup(started: Mapping[str, int]) -> None:
    """Stop what a failed start left behind without hiding the original error."""
    try:
        _stop_pids(started)
    except SandboxError as exc:
        logger.error("cleanup after a failed start failed: %s", exc)


def _stop_pids(pids: Mapping[str, int], timeout: float = STOP_TIMEOUT) -> bool:
    """Stop the API first (it calls the emulator), then the emulator."""
    markers = {"api": _API_MARKER, "moto": _MOTO_MARKER}
    stopped = False
    for role in ("api", "moto"):
        if role in pids:
            stopped |= _procs.terminate(role, pids[role], markers[role], timeout)
    return stopped
