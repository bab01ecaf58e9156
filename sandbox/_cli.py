"""The ``python -m sandbox`` command line: ``up``, ``down`` and ``status``.

``up`` returns once both processes serve and leaves them running detached; ``down``
stops them. Output never shows the test-user password: it stays in ``state.json``.
Exit status 0 means done; 2 means a :class:`~loadgate.errors.SandboxError`, printed as
one line without a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from loadgate.errors import EXIT_OK, LoadgateError, SandboxError
from sandbox._knobs import check_quota, check_seed, parse_knobs
from sandbox._lifecycle import (
    DEFAULT_USER_PREFIX,
    DEFAULT_USERS,
    READY_TIMEOUT,
    start,
    status,
    stop,
)
from sandbox._schedule import parse_schedule
from sandbox._state import STATE_FILE, SandboxState

DEFAULT_STATE_DIR = Path(".sandbox")
_UP_EPILOG = """\
latency (--latency KEY=VALUE, also SANDBOX_LATENCY=KEY=VALUE,...):
  KEY=MS                           a fixed delay, e.g. list_rooms=200
  KEY=fixed:MS                     the same, spelled out
  KEY=lognormal:MEDIAN_MS:SIGMA    log-normal delays, e.g. get_me=lognormal:80:0.5

faults (--fault KEY=RATE:KIND[:ARG]):
  KEY=RATE:status[:STATUS]         answer STATUS (500, 502, 503, 429, 403; default 500);
                                   a 429 carries Retry-After: 1
  KEY=RATE:reset                   close the connection with a TCP reset, no response
  KEY=RATE:timeout:SECONDS         hold the request SECONDS, then close, no response
  KEY=RATE:echo_auth               answer 500 echoing the Authorization header
  e.g. --fault list_messages=0.05:status:429 --fault get_me=0.01:reset

endpoint keys: health, list_rooms, get_me, list_messages, post_message

--schedule FILE holds {"steps": [...]}; each step has "after_s" (seconds after the
sandbox is ready) or "at" (epoch seconds), and "knobs" (a knob change, the body of
POST /_sandbox/knobs) and/or "outage" ({"seconds": N}), e.g.
  {"steps": [{"after_s": 0, "knobs": {"latency_ms": {"list_rooms": 50}}},
             {"after_s": 30, "knobs": {"latency_ms": {"list_rooms": 400}}},
             {"after_s": 45, "outage": {"seconds": 10}}]}

At run time, the control port (control_url in state.json) takes POST /_sandbox/knobs,
/_sandbox/schedule and /_sandbox/outage, and serves GET /_sandbox/proxy/stats.
"""


def build_parser(prog: str = "python -m sandbox") -> argparse.ArgumentParser:
    """Describe the ``sandbox`` command line.

    Args:
        prog: The command's name in usage lines (``loadgate sandbox`` from loadgate).

    Returns:
        The parser, with one sub-command each for ``up``, ``down`` and ``status``.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run the local stand-in for the chat API and its Cognito pool.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser(
        "up",
        help="start the sandbox and leave it running",
        epilog=_UP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_state_dir(up)
    up.add_argument("--users", type=int, default=DEFAULT_USERS, help="test users")
    up.add_argument("--user-prefix", default=DEFAULT_USER_PREFIX)
    _add_knob_flags(up)
    up.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT)

    _add_state_dir(commands.add_parser("down", help="stop the sandbox"))
    _add_state_dir(commands.add_parser("status", help="check that the sandbox runs"))
    return parser


def _add_knob_flags(up: argparse.ArgumentParser) -> None:
    """Add the flags that set knobs and the schedule at start; the epilog has syntax."""
    up.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="added latency for an endpoint key: MS, fixed:MS or "
        "lognormal:MEDIAN_MS:SIGMA (repeatable)",
    )
    up.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="KEY=FRACTION",
        help="fraction of requests answered 500 for an endpoint key (repeatable)",
    )
    up.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KEY=RATE:KIND[:ARG]",
        help="inject a fault kind (status, reset, timeout, echo_auth) for an "
        "endpoint key (repeatable)",
    )
    up.add_argument(
        "--cognito-quota",
        metavar="PER_S",
        help="sign-in calls per second the Cognito proxy allows before answering "
        "TooManyRequestsException (default: no limit)",
    )
    up.add_argument(
        "--seed", help="seed the random source of latencies and faults (integer)"
    )
    up.add_argument(
        "--schedule",
        type=Path,
        metavar="FILE",
        help='a JSON file {"steps": [...]} of knob changes and outages over time',
    )


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    """Add the ``--state-dir`` option every sub-command takes."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where state.json, logs and data live (default: .sandbox)",
    )


def main(
    argv: Sequence[str] | None = None,
    out: TextIO | None = None,
    prog: str = "python -m sandbox",
) -> int:
    """Run the ``sandbox`` command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when None.
        out: Where normal output goes; standard output when None.
        prog: The command's name in usage lines.

    Returns:
        The exit status: 0 on success, the error's exit code on a sandbox error.
    """
    args = build_parser(prog).parse_args(argv)
    stream = out or sys.stdout
    if args.verbose:
        logging.basicConfig(
            level=logging.INFO, format="%(levelname)s %(name)s: %(message)s"
        )

    try:
        if args.command == "up":
            _up(args, stream)
        elif args.command == "down":
            _down(args.state_dir, stream)
        else:
            _describe("sandbox running", status(args.state_dir), args.state_dir, stream)
    except LoadgateError as exc:
        print(f"sandbox {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    return EXIT_OK


def _up(args: argparse.Namespace, out: TextIO) -> None:
    """Parse the knob flags and the schedule, start the sandbox and describe it."""
    state = start(
        args.state_dir,
        users=args.users,
        user_prefix=args.user_prefix,
        latency_ms=parse_knobs("latency", args.latency),
        error_rate=parse_knobs("error_rate", args.error_rate),
        faults=parse_knobs("fault", args.fault),
        cognito_quota_per_s=check_quota(args.cognito_quota, "--cognito-quota"),
        seed=check_seed(args.seed, "--seed"),
        schedule=_schedule_steps(args.schedule),
        ready_timeout=args.ready_timeout,
    )
    _describe("sandbox up", state, args.state_dir, out)


def _schedule_steps(path: Path | None) -> list[Any]:
    """Read and check the ``--schedule`` file; return its steps."""
    if path is None:
        return []
    where = f"--schedule {str(path)!r}"
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SandboxError(f"{where}: cannot read it: {exc.strerror}") from exc
    except ValueError as exc:
        raise SandboxError(f"{where}: not JSON: {exc}") from exc
    parse_schedule(body, where)
    steps: list[Any] = body["steps"]
    return steps


def _down(state_dir: Path, out: TextIO) -> None:
    """Stop the sandbox and say whether anything was running."""
    if stop(state_dir):
        print(f"sandbox down: stopped the sandbox in {state_dir}", file=out)
    else:
        print(f"sandbox down: nothing was running in {state_dir}", file=out)


def _describe(title: str, state: SandboxState, state_dir: Path, out: TextIO) -> None:
    """Print where the sandbox answers, without the password."""
    names = state.usernames
    lines = [
        f"{title} in {state_dir}",
        f"api_url: {state.api_url}",
        f"control_url: {state.control_url}",
        f"cognito_endpoint: {state.cognito_endpoint}",
        f"cognito_upstream: {state.cognito_upstream}",
        f"region: {state.region}",
        f"user_pool_id: {state.user_pool_id}",
        f"client_id: {state.client_id}",
        f"users: {state.user_count} ({names[0]} .. {names[-1]})",
        f"request_log: {state.request_log}",
        f"pids: moto {state.pids['moto']}, api {state.pids['api']}",
        f"state: {state_dir / STATE_FILE} (mode 0600; holds the users' password)",
    ]
    print("\n".join(lines), file=out)
