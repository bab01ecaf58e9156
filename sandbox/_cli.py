"""The ``python -m sandbox`` command line: ``up``, ``down`` and ``status``.

``up`` returns once both processes serve and leaves them running detached; ``down``
stops them. Output never shows the test-user password: it stays in ``state.json``.
Exit status 0 means done; 2 means a :class:`~loadgate.errors.SandboxError`, printed as
one line without a traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from loadgate.errors import EXIT_OK, LoadgateError
from sandbox._knobs import parse_knobs
from sandbox._lifecycle import (
    DEFAULT_USER_PREFIX,
    DEFAULT_USERS,
    READY_TIMEOUT,
    start,
    status,
    stop,
)
from sandbox._state import STATE_FILE, SandboxState

DEFAULT_STATE_DIR = Path(".sandbox")


def build_parser() -> argparse.ArgumentParser:
    """Describe the ``sandbox`` command line.

    Returns:
        The parser, with one sub-command each for ``up``, ``down`` and ``status``.
    """
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Run the local stand-in for the chat API and its Cognito pool.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the sandbox and leave it running")
    _add_state_dir(up)
    up.add_argument("--users", type=int, default=DEFAULT_USERS, help="test users")
    up.add_argument("--user-prefix", default=DEFAULT_USER_PREFIX)
    up.add_argument(
        "--latency",
        action="append",
        default=[],
        metavar="KEY=MS",
        help="added latency for an endpoint key (repeatable)",
    )
    up.add_argument(
        "--error-rate",
        action="append",
        default=[],
        metavar="KEY=FRACTION",
        help="fraction of requests answered 500 for an endpoint key (repeatable)",
    )
    up.add_argument("--ready-timeout", type=float, default=READY_TIMEOUT)

    _add_state_dir(commands.add_parser("down", help="stop the sandbox"))
    _add_state_dir(commands.add_parser("status", help="check that the sandbox runs"))
    return parser


def _add_state_dir(parser: argparse.ArgumentParser) -> None:
    """Add the ``--state-dir`` option every sub-command takes."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="where state.json, logs and data live (default: .sandbox)",
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the ``sandbox`` command line.

    Args:
        argv: The arguments after the program name; ``sys.argv[1:]`` when None.
        out: Where normal output goes; standard output when None.

    Returns:
        The exit status: 0 on success, the error's exit code on a sandbox error.
    """
    args = build_parser().parse_args(argv)
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
    """Parse the knob flags, start the sandbox and describe it."""
    latency = parse_knobs("latency", args.latency)
    errors = parse_knobs("error_rate", args.error_rate)
    state = start(
        args.state_dir,
        users=args.users,
        user_prefix=args.user_prefix,
        latency_ms=latency,
        error_rate=errors,
        ready_timeout=args.ready_timeout,
    )
    _describe("sandbox up", state, args.state_dir, out)


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
        f"cognito_endpoint: {state.cognito_endpoint}",
        f"region: {state.region}",
        f"user_pool_id: {state.user_pool_id}",
        f"client_id: {state.client_id}",
        f"users: {state.user_count} ({names[0]} .. {names[-1]})",
        f"request_log: {state.request_log}",
        f"pids: moto {state.pids['moto']}, api {state.pids['api']}",
        f"state: {state_dir / STATE_FILE} (mode 0600; holds the users' password)",
    ]
    print("\n".join(lines), file=out)
