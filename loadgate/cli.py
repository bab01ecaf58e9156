"""The ``loadgate`` command: run scenarios, make reports, manage the local sandbox.

Exit codes: 0 every threshold passed, 1 a threshold failed, 2 bad input or a run error
(see :mod:`loadgate.errors`), 130 interrupted before a verdict.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TextIO

import auth
import reporting
import sandbox
from loadgate import __version__
from loadgate.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_THRESHOLD_FAILED,
    ConfigError,
    LoadgateError,
    TargetError,
)
from loadgate.runner import (
    LOCUSTFILE,
    RemoteWorkers,
    RunOutcome,
    RunRequest,
    exec_worker,
    new_run_dir,
    run_locust,
    worker_command,
)
from loadgate.safety import check_target
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH, ScenarioFile, load_scenarios

__all__ = ["main"]

logger = logging.getLogger(__name__)

DEFAULT_RESULTS = Path("results")
DEFAULT_SANDBOX_DIR = Path(".sandbox")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``loadgate`` command line and return its exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["sandbox"]:
        # The sandbox's own command line, --help included, as is.
        return sandbox.main(words[1:] or ["--help"], prog="loadgate sandbox")
    args = _parser().parse_args(words)
    # SIGTERM (a CI job cancelled, `timeout`) and SIGHUP (the terminal closed) take
    # the same careful way out as Ctrl-C, and Ctrl-C works even when a parent shell
    # started loadgate with SIGINT ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Its font search logs a hundred lines at DEBUG; none of them is loadgate's.
    logging.getLogger("matplotlib").setLevel(logging.WARNING)
    with _streams_that_may_close():
        try:
            code: int = args.handler(args)
        except LoadgateError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
    return code


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class _Closable:
    """A console stream whose reader may go away (``| head``, a closed terminal).

    Once a write fails, the run goes on without a console: the stream's file
    descriptor is pointed at /dev/null, so the run's files and its exit code are
    still written and Locust is stopped as usual.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.closed_by_reader = False

    def write(self, text: str) -> int:
        """Write, or drop the text once the reader is gone."""
        if not self.closed_by_reader:
            try:
                return self._stream.write(text)
            except OSError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        """Flush, or do nothing once the reader is gone."""
        if not self.closed_by_reader:
            try:
                self._stream.flush()
            except OSError:
                self._drop()

    def _drop(self) -> None:
        self.closed_by_reader = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError, io.UnsupportedOperation):
            logger.debug("console gone; its stream has no descriptor to redirect")

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


@contextlib.contextmanager
def _streams_that_may_close() -> Iterator[None]:
    """Make stdout and stderr survive their reader closing, for one command."""
    saved = sys.stdout, sys.stderr
    sys.stdout = _Closable(saved[0])
    sys.stderr = _Closable(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="loadgate",
        description="Staged, Cognito-authenticated load tests on Locust, with a verdict "
        "a deploy can be gated on.",
        epilog="Exit codes: 0 all thresholds passed, 1 a threshold failed, "
        "2 bad input or run error, 130 interrupted.",
    )
    parser.add_argument(
        "--version", action="version", version=f"loadgate {__version__}"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="Log diagnostics.")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="Run a scenario headless and report on it.",
        description="Run one scenario of scenarios.yaml with Locust (headless), write "
        "Locust's CSVs and loadgate's stage table into results/<run-id>/, then "
        "write report.html and summary.json there and print the verdict.",
    )
    _add_run_arguments(run)
    run.set_defaults(handler=_cmd_run)

    demo = commands.add_parser(
        "demo",
        help="Start the sandbox, run the demo scenario on it, report, stop the sandbox.",
        description="The whole job on the local sandbox: start it, run the scenario "
        "against it, report, and stop it again (also on failure or Ctrl-C).",
    )
    demo.add_argument("--scenario", default="demo", help="Scenario (default: demo).")
    demo.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        help="Where run directories are made (default: results/).",
    )
    demo.add_argument(
        "--scenarios-file",
        type=Path,
        default=DEFAULT_SCENARIOS_PATH,
        help="The scenarios file (default: scenarios.yaml of this project).",
    )
    demo.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_SANDBOX_DIR,
        help="Where the sandbox keeps its state, logs and request log (.sandbox).",
    )
    demo.add_argument(
        "--workers",
        type=_non_negative,
        default=0,
        help="Run distributed: a master and this many worker processes.",
    )
    _add_knob_arguments(demo)
    demo.set_defaults(handler=_cmd_demo)

    report = commands.add_parser(
        "report",
        help="Make report.html, summary.json, junit.xml and summary.md from a run.",
        description="Read a run directory's CSVs and run.json (or any Locust run's CSVs "
        "by their --csv prefix), evaluate the thresholds, look for bottlenecks, compare "
        "with baselines, and write report.html, summary.json, junit.xml and summary.md "
        "(into the run directory, or <prefix>-report/ beside Locust CSVs, unless --out).",
    )
    report.add_argument(
        "run_dir",
        type=Path,
        help="A results/<run-id>/ directory, a Locust CSV prefix (out/run for "
        "out/run_stats.csv), or one of its CSV files.",
    )
    report.add_argument(
        "--out",
        type=Path,
        help="Where to write (default: the run directory, or <prefix>-report/).",
    )
    report.add_argument(
        "--baseline",
        action="append",
        default=[],
        type=Path,
        metavar="RUN_DIR",
        help="Compare with this run (repeatable: several baselines give a noise model).",
    )
    report.add_argument(
        "--fail-on-regression",
        action="store_true",
        help="Exit 1 when a stage x endpoint regressed against the baseline.",
    )
    report.add_argument(
        "--scenarios-file",
        type=Path,
        help="Where settings the run did not record (min_samples, APDEX times, target "
        "profile) and a Locust run's thresholds come from (default: scenarios.yaml).",
    )
    report.add_argument(
        "--scenario", help="Take them from this scenario (default: the run's own)."
    )
    report.set_defaults(handler=_cmd_report)

    validate = commands.add_parser(
        "validate",
        help="Check scenarios.yaml and print its scenarios.",
        description="Load and validate the scenarios file; exit 2 with one line naming "
        "the key path and value if something is wrong.",
    )
    validate.add_argument(
        "--scenarios-file",
        type=Path,
        default=DEFAULT_SCENARIOS_PATH,
        help="The scenarios file (default: scenarios.yaml of this project).",
    )
    validate.set_defaults(handler=_cmd_validate)

    sandbox = commands.add_parser(
        "sandbox",
        help="Start or stop the local sandbox (Cognito emulator and chat API).",
        description="The sandbox stands in for production on 127.0.0.1: moto's Cognito "
        "emulator (behind a proxy that can throttle sign-ins like Cognito) with a user "
        "pool and test users, and the chat API behind it, with knobs for latency, "
        "faults, schedules and outages. `loadgate sandbox up --help` lists them all.",
        add_help=False,
    )
    sandbox.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="{up,down,status} ...",
        help="Passed to the sandbox's own command line.",
    )
    sandbox.set_defaults(handler=_cmd_sandbox)

    users = commands.add_parser(
        "users",
        help="Create or delete the Cognito test users (idempotent).",
        description="create: make test users {prefix}0000... with the test password, "
        "permanent (no challenge at sign-in); users that exist get it set again. "
        "delete: remove every user named {prefix} and digits. The pool and password "
        "are the sandbox's with --sandbox, else scenarios.yaml's auth section (a real "
        "pool needs AWS credentials with Cognito admin rights).",
    )
    users.add_argument("action", choices=("create", "delete"))
    users.add_argument(
        "--count", type=int, help="Test users to create (default: auth.users.count)."
    )
    users.add_argument(
        "--scenarios-file",
        type=Path,
        default=DEFAULT_SCENARIOS_PATH,
        help="The scenarios file (default: scenarios.yaml of this project).",
    )
    users.add_argument(
        "--sandbox",
        nargs="?",
        type=Path,
        const=DEFAULT_SANDBOX_DIR,
        metavar="STATE_DIR",
        help="Use the running sandbox's user pool and password.",
    )
    users.set_defaults(handler=_cmd_users)
    _add_fleet_commands(commands)
    _add_ui_command(commands)
    return parser


def _add_fleet_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    master = commands.add_parser(
        "master",
        help="Run a scenario as the master of workers started with `loadgate worker`.",
        description="Like `run`, but the users run on --workers workers started on "
        "their own, on this machine or others (`loadgate worker --master-host ...`). "
        "The master waits for all of them, runs the scenario headless and writes the "
        "run directory and report like `run`. A worker lost mid-run marks the run "
        "degraded; its users are started again on the others.",
    )
    _add_run_arguments(master, workers_help="Workers to wait for (1 or more).")
    master.add_argument(
        "--bind-host",
        default="127.0.0.1",
        help="Interface to listen on for workers (default: 127.0.0.1, this machine "
        "only; 0.0.0.0 for workers on other machines, on a private network: the port "
        "has no authentication).",
    )
    master.add_argument(
        "--master-port",
        type=int,
        default=5557,
        help="Port to listen on for workers (default: 5557).",
    )
    master.add_argument(
        "--wait",
        type=int,
        default=300,
        metavar="SECONDS",
        help="How long to wait for all the workers before giving up (default: 300).",
    )
    master.set_defaults(handler=_cmd_master)

    worker = commands.add_parser(
        "worker",
        help="Run one Locust worker for a `loadgate master`.",
        description="Connect to the master and run the users it hands out until it "
        "stops the test. Give it the same --scenario and scenarios file as the master. "
        "Secrets (test password, AWS credentials) come from this machine's environment "
        "and never cross the master/worker channel. The process becomes the Locust "
        "worker: its log goes to stderr and its exit code is Locust's.",
    )
    worker.add_argument(
        "--master-host", required=True, help="The master's address or host name."
    )
    worker.add_argument(
        "--master-port",
        type=int,
        default=5557,
        help="The master's port (default: 5557).",
    )
    worker.add_argument(
        "--scenario", default="staged", help="Scenario name, as the master's."
    )
    worker.add_argument(
        "--scenarios-file",
        type=Path,
        default=DEFAULT_SCENARIOS_PATH,
        help="The scenarios file, as the master's (default: this project's).",
    )
    worker.add_argument(
        "--sandbox",
        nargs="?",
        type=Path,
        const=DEFAULT_SANDBOX_DIR,
        metavar="STATE_DIR",
        help="Use the running sandbox's user pool and test users (on this machine).",
    )
    worker.set_defaults(handler=_cmd_worker)


def _add_run_arguments(
    run: argparse.ArgumentParser,
    workers_help: str = "Run distributed: a master and this many worker processes "
    "on this machine.",
) -> None:
    run.add_argument(
        "--scenario", default="staged", help="Scenario name (default: staged)."
    )
    run.add_argument(
        "--host", help="Target base URL (default: the sandbox or target.host)."
    )
    run.add_argument(
        "--target-env",
        metavar="NAME",
        help="The environment of scenarios.yaml the host must belong to.",
    )
    run.add_argument(
        "--confirm-production",
        action="store_true",
        help="Allow a host of an environment marked production.",
    )
    run.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        help="Where run directories are made (default: results/).",
    )
    run.add_argument(
        "--scenarios-file",
        type=Path,
        default=DEFAULT_SCENARIOS_PATH,
        help="The scenarios file (default: scenarios.yaml of this project).",
    )
    run.add_argument(
        "--sandbox",
        nargs="?",
        type=Path,
        const=DEFAULT_SANDBOX_DIR,
        metavar="STATE_DIR",
        help="Use the running sandbox's host, user pool and test users.",
    )
    run.add_argument("--workers", type=_non_negative, default=0, help=workers_help)
    run.add_argument(
        "--locust-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="Pass one more argument to Locust (repeatable).",
    )


def _add_knob_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="ENDPOINT=MS",
        help="Sandbox: add latency to an endpoint (repeatable).",
    )
    parser.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="ENDPOINT=FRACTION",
        help="Sandbox: make a share of an endpoint's requests fail with 500.",
    )


# Commands.


def _cmd_run(
    args: argparse.Namespace,
    remote: RemoteWorkers | None = None,
    master_port: int | None = None,
) -> int:
    env: dict[str, str] = {}
    host = args.host
    if args.sandbox is not None:
        # A bad scenario is named before a missing sandbox.
        load_scenarios(args.scenarios_file).scenario(args.scenario)
        state = _sandbox_state(args.sandbox)
        env = _sandbox_env(state)
        host = host or state.api_url
    return _run_and_report(
        args.scenario,
        args.scenarios_file,
        host,
        args.results,
        env,
        args.locust_arg,
        workers=args.workers,
        target_env=args.target_env,
        confirm_production=args.confirm_production,
        remote=remote,
        master_port=master_port,
    )


def _cmd_master(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise ConfigError(
            f"--workers: {args.workers!r} is not allowed; expected 1 or more "
            "(the workers this master waits for)"
        )
    print(
        f"master: waiting up to {args.wait} s for {args.workers} workers on "
        f"{args.bind_host}:{args.master_port} (start each with `loadgate worker "
        f"--master-host <this host> --master-port {args.master_port} --scenario "
        f"{args.scenario}`)",
        file=sys.stderr,
    )
    remote = RemoteWorkers(args.bind_host, args.wait)
    return _cmd_run(args, remote, args.master_port)


def _cmd_worker(args: argparse.Namespace) -> int:
    env: dict[str, str] = {}
    if args.sandbox is not None:
        env = _sandbox_env(_sandbox_state(args.sandbox))
    # Bad input fails here in one line, not in the worker's log once the run starts.
    scenarios = load_scenarios(args.scenarios_file, env={**os.environ, **env})
    scenarios.scenario(args.scenario)
    auth.check_settings(scenarios.auth)
    print(
        f"worker: scenario {args.scenario!r}, master "
        f"{args.master_host}:{args.master_port}",
        file=sys.stderr,
    )
    command = worker_command(
        args.scenario, args.scenarios_file, args.master_host, args.master_port
    )
    exec_worker(command, env)


def _cmd_demo(args: argparse.Namespace) -> int:
    load_scenarios(args.scenarios_file).scenario(args.scenario)
    _check_results(args.results)
    latency = sandbox.parse_knobs("latency", args.latency)
    error_rate = sandbox.parse_knobs("error_rate", args.error_rate)
    print("starting the sandbox (Cognito emulator and chat API)...", file=sys.stderr)
    state = sandbox.start(args.state_dir, latency_ms=latency, error_rate=error_rate)
    try:
        print(f"sandbox up: API {state.api_url}", file=sys.stderr)
        return _run_and_report(
            args.scenario,
            args.scenarios_file,
            state.api_url,
            args.results,
            _sandbox_env(state),
            [],
            workers=args.workers,
        )
    finally:
        # A second Ctrl-C must not leave the sandbox's processes behind.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            sandbox.stop(args.state_dir)
        finally:
            signal.signal(signal.SIGINT, previous)
        print("sandbox stopped", file=sys.stderr)


def _cmd_report(args: argparse.Namespace) -> int:
    return _report(
        args.run_dir,
        args.out,
        sys.stdout,
        baselines=args.baseline,
        scenarios=_scenarios_for_report(args.scenarios_file),
        scenario=args.scenario,
        fail_on_regression=args.fail_on_regression,
    )


def _cmd_validate(args: argparse.Namespace) -> int:
    scenarios = load_scenarios(args.scenarios_file)
    for name, scenario in scenarios.scenarios.items():
        stages = ", ".join(
            f"{stage.name} {stage.users}u/{stage.duration_s:g}s"
            for stage in scenario.stages
        )
        print(f"{name}: {stages} ({len(scenario.thresholds)} thresholds)")
    return 0


def _cmd_sandbox(args: argparse.Namespace) -> int:
    return sandbox.main(args.args or ["--help"], prog="loadgate sandbox")


def _cmd_users(args: argparse.Namespace) -> int:
    # boto3 is slow to import; only this command and runs need it.
    import auth

    env = dict(os.environ)
    if args.sandbox is not None:
        env |= _sandbox_env(_sandbox_state(args.sandbox))
    config = load_scenarios(args.scenarios_file, env=env).auth
    if not config.user_pool_id:
        raise ConfigError(
            "auth.user_pool_id is empty: set LOADGATE_USER_POOL_ID for a real pool, "
            "or pass --sandbox"
        )
    client = auth.admin_client(config, env)
    prefix, pool = config.users.prefix, config.user_pool_id
    if args.action == "delete":
        result = auth.delete_test_users(client, pool, prefix)
        print(f"test users {prefix}* in pool {pool}: {result.deleted} deleted")
        return 0

    count = config.users.count if args.count is None else args.count
    if count < 1:
        raise ConfigError(f"--count: {count!r} is not allowed; expected 1 or more")
    names = auth.pool_usernames(prefix, count)
    result = auth.create_test_users(client, pool, names, config.users.password)
    print(
        f"test users {names[0]}..{names[-1]} in pool {pool}: {result.created} created, "
        f"{result.updated} already there (password set permanent again)"
    )
    return 0


# Steps shared by the commands.


def _run_and_report(
    scenario_name: str,
    scenarios_file: Path,
    host: str | None,
    results: Path,
    env: Mapping[str, str],
    extra_args: Sequence[str],
    *,
    workers: int = 0,
    target_env: str | None = None,
    confirm_production: bool = False,
    remote: RemoteWorkers | None = None,
    master_port: int | None = None,
) -> int:
    # Validate everything before a single request is sent.
    scenarios = load_scenarios(scenarios_file, env={**os.environ, **env})
    scenario = scenarios.scenario(scenario_name)
    host = host or scenarios.host
    if not host:
        raise TargetError(
            "no target host: give --host, use --sandbox, or set target.host"
        )
    target = check_target(
        host,
        scenarios.environments,
        environment=target_env,
        confirm_production=confirm_production,
        source=Path(scenarios_file).name,
    )
    if remote is None:
        # A master of remote workers never signs in: the workers hold the secrets.
        auth.check_settings(scenarios.auth)
    # Locust checks the target again itself, so a run started by hand is held too.
    extra_args = [*extra_args, "--target-env", target.name]
    if confirm_production:
        extra_args.append("--confirm-production")

    _check_results(results)
    run_dir = new_run_dir(results, scenario.name)
    print(
        f"running scenario {scenario.name!r} against {host}: "
        f"{len(scenario.stages)} stages, {scenario.duration_s:g} s; results in {run_dir}",
        file=sys.stderr,
    )
    for warning in reporting.preflight(scenario, scenario.target_profile):
        print(f"warning: target profile: {warning}", file=sys.stderr)
    request = RunRequest(
        scenario.name,
        Path(scenarios_file),
        host,
        run_dir,
        env,
        extra_args,
        workers=workers,
        master_port=master_port or _free_port(),
        remote=remote,
    )
    outcome = run_locust(request)
    return _after_run(run_dir, outcome, scenarios)


def _after_run(
    run_dir: Path, outcome: RunOutcome, scenarios: ScenarioFile | None = None
) -> int:
    facts_path = run_dir / "run.json"
    if not facts_path.exists():
        log = run_dir / "locust.log"
        if outcome.interrupted:
            print(
                f"interrupted before Locust wrote any results: nothing was collected; "
                f"see {log}",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        last = [line for line in log.read_text(errors="replace").splitlines() if line]
        print(
            f"error: locust exited with code {outcome.exit_code} before writing "
            f"results (last line: {last[-1] if last else 'none'!r}); see {log}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    facts = json.loads(facts_path.read_text(encoding="utf-8"))
    if facts.get("fatal_error"):
        # The error is the verdict: the report is written, its table not shown.
        print(f"error: {facts['fatal_error']}", file=sys.stderr)
        _report(run_dir, run_dir, io.StringIO(), scenarios=scenarios)
        print(f"report: {run_dir / 'report.html'}", file=sys.stderr)
        return EXIT_ERROR
    code = _report(run_dir, run_dir, sys.stdout, scenarios=scenarios)
    if outcome.interrupted:
        print("interrupted: the report covers the stages that ran", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def _report(
    run_dir: Path,
    out_dir: Path | None,
    console: TextIO,
    *,
    baselines: Sequence[Path] = (),
    scenarios: ScenarioFile | None = None,
    scenario: str | None = None,
    fail_on_regression: bool = False,
) -> int:
    made = reporting.generate(
        run_dir,
        out_dir,
        baselines=baselines,
        scenarios=scenarios,
        scenario_name=scenario,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    console.write(
        reporting.render_console(
            made.run, made.verdicts, analysis=made.analysis, comparison=made.comparison
        )
    )
    paths = made.paths
    console.write(
        f"\nreport: {paths.report_html}\nsummary: {paths.summary_json}\n"
        f"ci: {paths.junit_xml} {paths.summary_md}\n"
    )
    code = reporting.exit_code(made.verdicts)
    regressed = made.comparison is not None and made.comparison.counts()["regressed"]
    if fail_on_regression and regressed and code == 0:
        return EXIT_THRESHOLD_FAILED
    return code


def _scenarios_for_report(path: Path | None) -> ScenarioFile | None:
    """Load the scenarios file a report takes settings from.

    A file given on the command line must load; the default one is optional (a run
    directory holds what its report needs), so its errors are only logged.
    """
    if path is not None:
        return load_scenarios(path)
    try:
        return load_scenarios(DEFAULT_SCENARIOS_PATH)
    except ConfigError as exc:
        logger.warning("scenarios file not used for the report: %s", exc)
        return None


def _check_results(results: Path) -> None:
    """Refuse a results folder that cannot hold run directories, before any load."""
    if results.exists() and not results.is_dir():
        raise ConfigError(
            f"--results: {str(results)!r} is not allowed; expected a directory "
            "(it is a file)"
        )


def _non_negative(text: str) -> int:
    """Parse a count of 0 or more for argparse."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not allowed; expected 0 or more"
        )
    return value


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _sandbox_state(state_dir: Path) -> sandbox.SandboxState:
    """Return the running sandbox's state; refuse one whose processes are gone."""
    return sandbox.status(state_dir)


def _sandbox_env(state: sandbox.SandboxState) -> dict[str, str]:
    """Return the environment that points Locust at the sandbox's Cognito pool."""
    return {
        "LOADGATE_USER_POOL_ID": state.user_pool_id,
        "LOADGATE_CLIENT_ID": state.client_id,
        "LOADGATE_USER_COUNT": str(state.user_count),
        "LOADGATE_TEST_PASSWORD": os.environ.get("LOADGATE_TEST_PASSWORD")
        or state.password,
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER": state.cognito_endpoint,
        "AWS_REGION": state.region,
        "AWS_DEFAULT_REGION": state.region,
        # The emulator accepts any credentials; these keep real ones out of reach.
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
    }


# The web UI.

UI_PASSWORD_VARIABLE = "LOADGATE_UI_PASSWORD"


def _add_ui_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    ui = commands.add_parser(
        "ui",
        help="Locust's web UI with loadgate's tab: stages, live verdicts, reports.",
        description="Start Locust's web UI with loadgate's locustfile. In the start "
        "form pick the Shape Class StagedShape and the scenario (Custom parameters); "
        "the loadgate tab shows the current stage, its time left and a live verdict "
        "per stage and threshold, and, once a run stops, its report.html and "
        "summary.json (written to <results>/ui-<timestamp>-<scenario>/). Without "
        "--host or --sandbox the sandbox is started, and stopped again on Ctrl-C.",
    )
    ui.add_argument("--host", help="Target base URL (default: the sandbox's).")
    ui.add_argument(
        "--sandbox",
        nargs="?",
        type=Path,
        const=DEFAULT_SANDBOX_DIR,
        metavar="STATE_DIR",
        help="Use a running sandbox instead of starting one.",
    )
    ui.add_argument(
        "--scenario", default="demo", help="The form's first scenario (default: demo)."
    )
    ui.add_argument(
        "--scenarios-file",
        type=Path,
        default=DEFAULT_SCENARIOS_PATH,
        help="The scenarios file (default: scenarios.yaml of this project).",
    )
    ui.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        help="Where run directories are made (default: results/).",
    )
    ui.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_SANDBOX_DIR,
        help="Where a sandbox started for the UI keeps its state (default: .sandbox).",
    )
    ui.add_argument(
        "--web-host",
        default="127.0.0.1",
        help="Interface to listen on (default: 127.0.0.1, this machine only; any "
        "other needs --web-login).",
    )
    ui.add_argument("--web-port", type=int, default=8089, help="Port (default: 8089).")
    ui.add_argument(
        "--web-login",
        action="store_true",
        help=f"Protect the UI with a login page: password from {UI_PASSWORD_VARIABLE}, "
        "user name from LOADGATE_UI_USERNAME (default: loadgate).",
    )
    ui.add_argument(
        "--locust-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="Pass one more argument to Locust (repeatable).",
    )
    ui.set_defaults(handler=_cmd_ui)


def _cmd_ui(args: argparse.Namespace) -> int:
    _check_web_access(args.web_host, args.web_login)
    for arg in args.locust_arg:
        name = arg.split("=", 1)[0]
        if name in _UI_OWN_OPTIONS:
            raise ConfigError(
                f"--locust-arg: {arg!r} is not allowed; loadgate ui sets {name} "
                "itself: use its own option of that name"
            )
    load_scenarios(args.scenarios_file).scenario(args.scenario)
    if args.host is not None or args.sandbox is not None:
        env: dict[str, str] = {}
        host = args.host
        if args.sandbox is not None:
            state = _sandbox_state(args.sandbox)
            env = _sandbox_env(state)
            host = host or state.api_url
        return _serve_ui(args, host, env)

    print("starting the sandbox (Cognito emulator and chat API)...", file=sys.stderr)
    state = sandbox.start(args.state_dir)
    try:
        print(f"sandbox up: API {state.api_url}", file=sys.stderr)
        return _serve_ui(args, state.api_url, _sandbox_env(state))
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            sandbox.stop(args.state_dir)
        finally:
            signal.signal(signal.SIGINT, previous)
        print("sandbox stopped", file=sys.stderr)


# Locust options `loadgate ui` sets from its own, checked ones (--web-host is safe
# only together with --web-login).
_UI_OWN_OPTIONS = frozenset(
    {
        "--web-host",
        "--web-port",
        "--web-login",
        "--host",
        "-H",
        "--scenario",
        "--scenarios-file",
        "--ui-results",
        "-f",
        "--locustfile",
    }
)


def _check_web_access(web_host: str, web_login: bool) -> None:
    """Refuse a web UI other machines can reach unless it has a login page."""
    if web_login:
        if not os.environ.get(UI_PASSWORD_VARIABLE):
            raise ConfigError(
                f"--web-login: set {UI_PASSWORD_VARIABLE} to the web UI's password"
            )
        return
    try:
        loopback = web_host == "localhost" or ipaddress.ip_address(web_host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            f"--web-host: {web_host!r} lets other machines reach the web UI, which "
            f"starts load; add --web-login (password in {UI_PASSWORD_VARIABLE}) or "
            "keep 127.0.0.1"
        )


def _serve_ui(args: argparse.Namespace, host: str, env: Mapping[str, str]) -> int:
    """Run Locust's web UI in the foreground until Ctrl-C; return Locust's status."""
    command = [
        *(sys.executable, "-m", "locust", "-f", str(LOCUSTFILE)),
        *("--web-host", args.web_host, "--web-port", str(args.web_port)),
        *("--class-picker", "--host", host, "--scenario", args.scenario),
        *("--scenarios-file", str(args.scenarios_file)),
        *("--ui-results", str(args.results.resolve()), "--exit-code-on-error", "0"),
        *(["--web-login"] if args.web_login else []),
        *args.locust_arg,
    ]
    print(
        f"web UI: http://{args.web_host}:{args.web_port} (Ctrl-C stops it)",
        file=sys.stderr,
    )
    try:
        child = subprocess.Popen(
            command, env={**os.environ, **env}, stdin=subprocess.DEVNULL
        )
    except OSError as exc:
        raise TargetError(f"could not start locust: {exc}") from exc

    # Ctrl-C reaches Locust from the terminal: it stops a running test, finishes its
    # report and exits. loadgate only waits for that.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return _wait_for_ui(child)
    finally:
        signal.signal(signal.SIGINT, previous)


def _wait_for_ui(child: subprocess.Popen[bytes]) -> int:
    """Wait for Locust; a SIGTERM asks it to stop like Ctrl-C, a second one kills it."""
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.send_signal(signal.SIGINT)
    try:
        return child.wait()
    except KeyboardInterrupt:
        child.kill()
        return child.wait()


if __name__ == "__main__":
    sys.exit(main())
