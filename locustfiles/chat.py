"""Locustfile: Cognito-authenticated virtual users of the chat API, in staged load.

Pick the scenario with ``--scenario NAME`` (a Locust custom argument, also shown in the
web UI) and the file with ``--scenarios-file``. The stages of the scenario drive
:class:`StagedShape`; every request is also recorded per stage (see
:mod:`locustfiles._recorder`).
"""

from __future__ import annotations

# locust must come first: it lets gevent patch ssl and sockets before boto3 loads them.
from locust import FastHttpUser, LoadTestShape, events, task  # isort: skip

import itertools
import logging
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from locust.env import Environment
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from auth import CognitoTokenProvider
from loadgate.errors import AuthError, LoadgateError
from loadgate.safety import check_target
from loadgate.scenarios import (
    AUTH_REQUEST_TYPE,
    DEFAULT_SCENARIOS_PATH,
    Endpoint,
    Scenario,
    ScenarioFile,
    load_scenarios,
)
from locustfiles import _redact as redact
from locustfiles._failures import describe_failure
from locustfiles._fleet import FleetMonitor
from locustfiles._progress import ProgressLogger
from locustfiles._recorder import StageRecorder
from locustfiles._webui import add_arguments as add_web_ui_arguments
from locustfiles._webui import install as install_web_ui

__all__ = ["ChatUser", "StagedShape"]

logger = logging.getLogger(__name__)


@dataclass
class _Process:
    """What one Locust process shares among its virtual users."""

    scenario: Scenario
    recorder: StageRecorder
    tokens: CognitoTokenProvider | None
    counter: itertools.count[int] = field(default_factory=itertools.count)


_process: _Process | None = None


def _current() -> _Process:
    if _process is None:
        raise RuntimeError("loadgate's init listener has not run in this process")
    return _process


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--scenario",
        default="demo",
        include_in_web_ui=True,
        help="Scenario of scenarios.yaml to run (its stages drive the load shape).",
    )
    parser.add_argument(
        "--scenarios-file",
        default=str(DEFAULT_SCENARIOS_PATH),
        include_in_web_ui=False,
        help="The scenarios file.",
    )
    parser.add_argument(
        "--target-env",
        default=None,
        include_in_web_ui=False,
        help="Environment of scenarios.yaml the host must belong to.",
    )
    parser.add_argument(
        "--confirm-production",
        action="store_true",
        default=False,
        include_in_web_ui=False,
        help="Allow a host of an environment marked production.",
    )
    add_web_ui_arguments(parser)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    global _process
    options = environment.parsed_options
    if options is None:
        raise RuntimeError("loadgate's locustfile runs under the locust command only")
    try:
        scenarios = load_scenarios(options.scenarios_file)
        scenario = scenarios.scenario(options.scenario)
        if environment.host and not isinstance(environment.runner, WorkerRunner):
            _check_target(environment.host, scenarios, options)
        tokens = None
        # Only processes with users sign in: no token ever crosses to the master.
        if not isinstance(environment.runner, MasterRunner):
            tokens = CognitoTokenProvider(
                scenarios.auth, observe=_cognito_observer(environment)
            )
            environment.events.quit.add_listener(_summary_logger(tokens))
    except LoadgateError as exc:
        logger.error("%s", exc)
        sys.exit(exc.exit_code)

    redact.install((scenarios.auth.users.password, scenarios.auth.client_secret))
    # botocore's debug log prints request bodies, sign-in passwords included.
    for name in ("botocore", "boto3", "urllib3"):
        library_logger = logging.getLogger(name)
        library_logger.setLevel(max(library_logger.getEffectiveLevel(), logging.INFO))
    if getattr(options, "reset_stats", False):
        logger.warning(
            "--reset-stats wipes Locust's own statistics at every stage change, so "
            "loadgate_stats.csv will hold the last stage only; loadgate's stage table "
            "(loadgate_stages.csv) is not affected"
        )
    recorder = StageRecorder(environment, scenario)
    recorder.attach()
    environment.events.test_start.add_listener(_target_guard(environment, scenarios))
    recorder.fleet = FleetMonitor(environment)
    recorder.fleet.attach()
    ProgressLogger(environment, recorder).attach()
    _process = _Process(scenario, recorder, tokens)
    if environment.web_ui is not None:
        try:
            install_web_ui(environment, recorder, _switch_scenario)
        except LoadgateError as exc:
            logger.error("%s", exc)
            sys.exit(exc.exit_code)


def _switch_scenario(scenario: Scenario) -> None:
    """Run ``scenario`` from the next start on (the web UI's form can change it)."""
    _current().scenario = scenario


def _check_target(host: str, scenarios: ScenarioFile, options: Any) -> None:
    check_target(
        host,
        scenarios.environments,
        environment=getattr(options, "target_env", None),
        confirm_production=bool(getattr(options, "confirm_production", False)),
        source=scenarios.path.name,
    )


def _target_guard(environment: Environment, scenarios: ScenarioFile) -> Any:
    """Check the host again when a test starts (the web UI can change it)."""

    def guard(**_: Any) -> None:
        if isinstance(environment.runner, WorkerRunner):
            # The master forwards its --scenario before the test starts.
            wanted = getattr(environment.parsed_options, "scenario", None)
            loaded = _current().scenario.name
            if wanted and wanted != loaded:
                _current().recorder.fail(
                    f"this worker loaded scenario {loaded!r} but the master runs "
                    f"{wanted!r}: start every worker with --scenario {wanted}"
                )
            return
        try:
            _check_target(environment.host or "", scenarios, environment.parsed_options)
        except LoadgateError as exc:
            logger.error("%s", exc)
            _current().recorder.fail(str(exc))

    return guard


def _summary_logger(tokens: CognitoTokenProvider) -> Any:
    def log_summary(**_: Any) -> None:
        tokens.log_summary()

    return log_summary


def _workers(environment: Environment) -> int:
    """Return how many worker processes share the run (1 when not distributed)."""
    if not isinstance(environment.runner, WorkerRunner):
        return 1
    expected = getattr(environment.parsed_options, "expect_workers", 1)
    return max(int(expected or 1), 1)


def _user_index(environment: Environment, local: int) -> int:
    """Number a virtual user so that workers take turns on the pool of test users.

    Worker ``w`` of ``n`` numbers its users ``w``, ``w + n``, ``w + 2n``..., so each
    worker signs in only the test users its own virtual users need.
    """
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        return local
    return local * _workers(environment) + max(runner.worker_index, 0)


def _cognito_observer(environment: Environment) -> Any:
    def observe(call: str, elapsed_ms: float, error: BaseException | None) -> None:
        environment.events.request.fire(
            request_type=AUTH_REQUEST_TYPE,
            name=call,
            response_time=elapsed_ms,
            response_length=0,
            exception=error,
            context={},
            start_time=time.time() - elapsed_ms / 1000,
        )

    return observe


@dataclass
class _Pace:
    """A paced user's schedule in a rate stage: when its next send is due."""

    stage: int
    interval_s: float
    next_send: float

    @property
    def allowance_s(self) -> float:
        """How late a send may start and still count as on time."""
        return max(0.010, 0.1 * self.interval_s)


class ChatUser(FastHttpUser):
    """A signed-in chat user calling the API's endpoints by their weights.

    In a think-time stage the user pauses for the scenario's ``wait_time`` between
    requests. In a rate stage it sends on a fixed schedule (``users / rate`` seconds
    apart) whatever the responses take; a send that falls behind is sent at once and
    its latency is also measured from when it was due.
    """

    _pace: _Pace | None = None

    # One request at a time per user, so one pooled connection: the HTTP client then
    # retries a dropped keep-alive connection once, not once per pooled socket.
    concurrency = 1
    refused = False
    """Set when this user's sign-in was refused: it stops at its first task."""

    def __init__(self, environment: Any) -> None:
        # The HTTP client takes its timeouts when it is made, in FastHttpUser's own
        # constructor: set them from the scenario first.
        timeout = _current().scenario.request_timeout_s
        self.network_timeout = timeout
        self.connection_timeout = timeout
        super().__init__(environment)

    def wait_time(self) -> float:
        """Return the pause before the next request (think time or pacing)."""
        process = _current()
        index = process.recorder.current_stage()
        interval = None if index is None else process.scenario.stages[index].pacing_s
        now = time.time()
        if index is None or interval is None:
            self._pace = None
            pause = process.scenario.wait_time
            return random.uniform(pause.min_s, pause.max_s)

        if self._pace is None or self._pace.stage != index:
            # A random phase spreads the users' sends over the interval.
            first = now + random.uniform(0, interval)
            self._pace = _Pace(index, interval, first)
        else:
            self._pace.next_send += interval
        return max(0.0, self._pace.next_send - now)

    def on_start(self) -> None:
        """Sign in as this user's test user, then learn the rooms to post in."""
        process = _current()
        self.index = _user_index(self.environment, next(process.counter))
        if process.tokens is not None:
            process.tokens.share_rate(_workers(self.environment))
        self.endpoints = [
            e for e in process.scenario.endpoints.values() if e.weight > 0
        ]
        self.cum_weights = list(itertools.accumulate(e.weight for e in self.endpoints))
        self.room_ids: list[str] = []
        try:
            self.bearer()
        except StopUser:
            # Raised from on_start, Locust would log a traceback for every user:
            # the first task stops the user instead; the run's one error says why.
            self.refused = True
            return

        listing = process.scenario.endpoints.get("list_rooms")
        if listing is None:
            # Nothing to learn rooms from: the chat API's first room.
            self.room_ids = ["1"]
        else:
            self._learn_rooms(listing)

    def _learn_rooms(self, listing: Endpoint, paced: bool = False) -> None:
        """List the rooms; none learnt (the listing failed) leaves the list empty."""
        response = self._send(listing, "", paced=paced)
        rooms = _json(response).get("rooms", []) if response.ok else []
        self.room_ids = [str(room["id"]) for room in rooms if "id" in room]

    def bearer(self) -> str:
        """Return this user's current token; stop the test if Cognito refuses it."""
        process = _current()
        if process.tokens is None:
            raise StopUser()
        try:
            return process.tokens.bearer_for(self.index)
        except AuthError as exc:
            process.recorder.fail(str(exc))
            raise StopUser() from None

    @task
    def call_endpoint(self) -> None:
        """Send one request to an endpoint picked by weight."""
        if self.refused:
            raise StopUser()
        endpoint = random.choices(self.endpoints, cum_weights=self.cum_weights)[0]
        if not self.room_ids and "{room_id}" in endpoint.path:
            # A room endpoint needs a real room: list them again rather than send
            # a made-up id whose 404s would blame the wrong endpoint.
            self._learn_rooms(_current().scenario.endpoints["list_rooms"], paced=True)
            return
        self._send(endpoint, random.choice(self.room_ids or [""]), paced=True)

    def _send(self, endpoint: Endpoint, room_id: str, paced: bool = False) -> Any:
        headers = {"Authorization": f"Bearer {self.bearer()}"} if endpoint.auth else {}
        body = None
        if endpoint.method in ("POST", "PUT", "PATCH"):
            body = {"text": f"load test message from user {self.index}"}
        context = {}
        if paced and self._pace is not None:
            due = (self._pace.next_send, self._pace.allowance_s)
            context["loadgate_intended"] = due
        with self.client.request(
            endpoint.method,
            endpoint.path.replace("{room_id}", room_id),
            name=endpoint.path,
            headers=headers,
            json=body,
            context=context,
            catch_response=True,
        ) as response:
            # loadgate words every failure itself, so no response body (which a
            # target may fill with the request's own token) reaches Locust's stats.
            problem = describe_failure(response.status_code, _error_of(response))
            if problem is not None:
                response.failure(problem)
        return response


class StagedShape(LoadTestShape):
    """Runs the scenario's stages one after the other, then stops the test."""

    def tick(self) -> tuple[int, float] | None:
        """Return the current stage's users and spawn rate, or None when done."""
        process = _current()
        run_time = self.get_run_time()
        elapsed = 0.0
        for index, stage in enumerate(process.scenario.stages):
            elapsed += stage.duration_s
            if run_time < elapsed:
                if index != process.recorder.current_stage():
                    process.recorder.enter_stage(index)
                return stage.users, stage.spawn_rate
        process.recorder.finish()
        return None


def _error_of(response: Any) -> BaseException | None:
    error = response.request_meta.get("exception") or getattr(response, "error", None)
    return error if isinstance(error, BaseException) else None


def _json(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
