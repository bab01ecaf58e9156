"""The ``loadgate`` command: run scenarios, make reports, manage the local sandbox.

Exit codes: 0 every threshold passed, 1 a threshold failed, 2 bad input or a run error
(see :mod:`loadgate.errors`), 130 interrupted before a verdict.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

import reporting
import sandbox
from loadgate import __version__
from loadgate.errors import EXIT_ERROR, LoadgateError, TargetError
from loadgate.runner import RunRequest, new_run_dir, run_locust
from loadgate.scenarios import DEFAULT_SCENARIOS_PATH, load_scenarios

__all__ = ["main"]

logger = logging.getLogger(__name__)

DEFAULT_RESULTS = Path("results")
DEFAULT_SANDBOX_DIR = Path(".sandbox")
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``loadgate`` command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.handler(args)
    except LoadgateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


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
        "--results", type=Path, default=DEFAULT_RESULTS, help="Results root."
    )
    demo.add_argument("--scenarios-file", type=Path, default=DEFAULT_SCENARIOS_PATH)
    demo.add_argument("--state-dir", type=Path, default=DEFAULT_SANDBOX_DIR)
    demo.add_argument(
        "--workers",
        type=int,
        default=0,
        help="Run distributed: a master and this many worker processes.",
    )
    _add_knob_arguments(demo)
    demo.set_defaults(handler=_cmd_demo)

    report = commands.add_parser(
        "report",
        help="Make report.html and summary.json from a run directory.",
        description="Read a run directory's CSVs and run.json, evaluate the thresholds "
        "and write report.html and summary.json (into the run directory unless --out).",
    )
    report.add_argument("run_dir", type=Path, help="A results/<run-id>/ directory.")
    report.add_argument("--out", type=Path, help="Where to write (default: run_dir).")
    report.set_defaults(handler=_cmd_report)

    validate = commands.add_parser(
        "validate",
        help="Check scenarios.yaml and print its scenarios.",
        description="Load and validate the scenarios file; exit 2 with one line naming "
        "the key path and value if something is wrong.",
    )
    validate.add_argument("--scenarios-file", type=Path, default=DEFAULT_SCENARIOS_PATH)
    validate.set_defaults(handler=_cmd_validate)

    sandbox = commands.add_parser(
        "sandbox",
        help="Start or stop the local sandbox (Cognito emulator and chat API).",
        description="The sandbox stands in for production on 127.0.0.1: moto's Cognito "
        "emulator with a user pool and test users, and the chat API behind it.",
    )
    sandbox.add_argument("action", choices=("up", "down", "status"))
    sandbox.add_argument("--state-dir", type=Path, default=DEFAULT_SANDBOX_DIR)
    sandbox.add_argument("--users", type=int, default=20, help="Test users to create.")
    _add_knob_arguments(sandbox)
    sandbox.set_defaults(handler=_cmd_sandbox)
    return parser


def _add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--scenario", default="demo", help="Scenario name (default: demo)."
    )
    run.add_argument(
        "--host", help="Target base URL (default: the sandbox or target.host)."
    )
    run.add_argument(
        "--results", type=Path, default=DEFAULT_RESULTS, help="Results root."
    )
    run.add_argument("--scenarios-file", type=Path, default=DEFAULT_SCENARIOS_PATH)
    run.add_argument(
        "--sandbox",
        nargs="?",
        type=Path,
        const=DEFAULT_SANDBOX_DIR,
        metavar="STATE_DIR",
        help="Use the running sandbox's host, user pool and test users.",
    )
    run.add_argument(
        "--workers",
        type=int,
        default=0,
        help="Run distributed: a master and this many worker processes on this machine.",
    )
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


def _cmd_run(args: argparse.Namespace) -> int:
    env: dict[str, str] = {}
    host = args.host
    if args.sandbox is not None:
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
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    load_scenarios(args.scenarios_file).scenario(args.scenario)
    print("starting the sandbox (Cognito emulator and chat API)...", file=sys.stderr)
    state = sandbox.start(
        args.state_dir,
        latency_ms=sandbox.parse_knobs("latency", args.latency),
        error_rate=sandbox.parse_knobs("error_rate", args.error_rate),
    )
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
        sandbox.stop(args.state_dir)
        print("sandbox stopped", file=sys.stderr)


def _cmd_report(args: argparse.Namespace) -> int:
    return _report(args.run_dir, args.out or args.run_dir, sys.stdout)


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
    if args.action == "up":
        state = sandbox.start(
            args.state_dir,
            users=args.users,
            latency_ms=sandbox.parse_knobs("latency", args.latency),
            error_rate=sandbox.parse_knobs("error_rate", args.error_rate),
        )
        print(f"sandbox up: API {state.api_url}, Cognito {state.cognito_endpoint}")
        print(f"state in {args.state_dir}/state.json; stop with: loadgate sandbox down")
    elif args.action == "down":
        sandbox.stop(args.state_dir)
        print("sandbox down")
    else:
        state = _sandbox_state(args.state_dir)
        print(f"sandbox up: API {state.api_url}, Cognito {state.cognito_endpoint}")
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
) -> int:
    # Validate everything before a single request is sent.
    scenarios = load_scenarios(scenarios_file, env={**os.environ, **env})
    scenario = scenarios.scenario(scenario_name)
    host = host or scenarios.host
    if not host:
        raise TargetError(
            "no target host: give --host, use --sandbox, or set target.host"
        )

    run_dir = new_run_dir(results, scenario.name)
    print(
        f"running scenario {scenario.name!r} against {host}: "
        f"{len(scenario.stages)} stages, {scenario.duration_s:g} s; results in {run_dir}",
        file=sys.stderr,
    )
    if workers < 0:
        raise TargetError(f"--workers: {workers!r} is not allowed; expected 0 or more")
    request = RunRequest(
        scenario.name,
        Path(scenarios_file),
        host,
        run_dir,
        env,
        extra_args,
        workers=workers,
        master_port=_free_port(),
    )
    locust_code = run_locust(request)
    return _after_run(run_dir, locust_code)


def _after_run(run_dir: Path, locust_code: int) -> int:
    facts_path = run_dir / "run.json"
    if not facts_path.exists():
        log = run_dir / "locust.log"
        last = [line for line in log.read_text(errors="replace").splitlines() if line]
        print(
            f"error: locust exited with code {locust_code} before writing results "
            f"(last line: {last[-1] if last else 'none'!r}); see {log}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    facts = json.loads(facts_path.read_text(encoding="utf-8"))
    if facts.get("fatal_error"):
        print(f"error: {facts['fatal_error']}", file=sys.stderr)
        _report(run_dir, run_dir, sys.stdout)
        return EXIT_ERROR
    return _report(run_dir, run_dir, sys.stdout)


def _report(run_dir: Path, out_dir: Path, console: TextIO) -> int:
    run = reporting.load_run(run_dir)
    verdicts = reporting.evaluate(run)
    paths = reporting.write_report(run, verdicts, out_dir)
    console.write(reporting.render_console(run, verdicts))
    console.write(f"\nreport: {paths.report_html}\nsummary: {paths.summary_json}\n")
    return reporting.exit_code(verdicts)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _sandbox_state(state_dir: Path) -> sandbox.SandboxState:
    return sandbox.SandboxState.load(state_dir)


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


if __name__ == "__main__":
    sys.exit(main())
