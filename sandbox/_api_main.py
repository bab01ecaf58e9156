"""Entry point of the chat API process: three gevent WSGI servers sharing one knob table.

* the chat API (:mod:`sandbox._api`) on ``--port``, closed during an outage
  (:mod:`sandbox._listener`);
* the control application (:mod:`sandbox._control`) on ``--control-port``, which stays
  up, and applies schedules (:mod:`sandbox._scheduler`);
* the Cognito quota proxy (:mod:`sandbox._proxy`) on ``--proxy-port``, in front of the
  emulator at ``--cognito-endpoint``.

The sandbox runs this file as a script (``python -P .../_api_main.py``), never as
``python -m``: running a package module would import ``sandbox/__init__.py``, and
with it ssl and threading, before gevent could patch them. Patching therefore comes
first here.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import jwt  # noqa: E402
from gevent.event import Event  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from loadgate.errors import LoadgateError, SandboxError  # noqa: E402
from sandbox._api import create_app  # noqa: E402
from sandbox._control import create_control_app  # noqa: E402
from sandbox._hold import Hold  # noqa: E402
from sandbox._knobs import Knobs, parse_update  # noqa: E402
from sandbox._listener import ApiListener  # noqa: E402
from sandbox._proxy import CognitoProxy  # noqa: E402
from sandbox._requestlog import RequestLog  # noqa: E402
from sandbox._schedule import Step  # noqa: E402
from sandbox._scheduler import Scheduler  # noqa: E402
from sandbox._store import ChatStore  # noqa: E402
from sandbox._tokens import TokenVerifier, jwks_url_for  # noqa: E402

# Run as a script, __name__ is "__main__"; name the logger after the role instead.
logger = logging.getLogger("sandbox.api")

DATABASE_NAME = "chat.sqlite3"
REQUEST_LOG_NAME = "requests.jsonl"


def _parser() -> argparse.ArgumentParser:
    """Describe the process's command line."""
    parser = argparse.ArgumentParser(description="Serve the sandbox chat API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--proxy-port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--cognito-endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--user-pool-id", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument(
        "--knobs", default="{}", help="the initial knobs, as a JSON knob change"
    )
    return parser


def _knobs(args: argparse.Namespace) -> Knobs:
    """Build the knob table from the JSON the parent process resolved."""
    try:
        body = json.loads(args.knobs)
    except ValueError as exc:
        raise SandboxError(f"--knobs: not JSON: {exc}") from exc
    return Knobs(parse_update(body, "--knobs"))


def serve(argv: Sequence[str] | None = None) -> int:
    """Serve the chat API until SIGTERM or SIGINT.

    Args:
        argv: Command-line arguments; ``sys.argv[1:]`` when None.

    Returns:
        The process exit status.
    """
    args = _parser().parse_args(argv)
    knobs = _knobs(args)
    jwks = jwt.PyJWKClient(
        jwks_url_for(args.cognito_endpoint, args.user_pool_id),
        cache_keys=True,
        timeout=5,
    )
    verifier = TokenVerifier(jwks, args.region, args.user_pool_id, args.client_id)
    store = ChatStore(args.state_dir / DATABASE_NAME)
    request_log = RequestLog(args.state_dir / REQUEST_LOG_NAME)

    app = create_app(
        verifier=verifier,
        store=store,
        knobs=knobs,
        request_log=request_log,
        sleep=Hold(gevent.sleep),
    )
    try:
        _serve_all(args, app, knobs)
    finally:
        store.close()
        request_log.close()
    logger.info("chat api stopped")
    return 0


def _serve_all(args: argparse.Namespace, app: object, knobs: Knobs) -> None:
    """Run the API, control and proxy listeners until SIGTERM or SIGINT."""
    listener = ApiListener(args.host, args.port, app)

    def apply(step: Step) -> None:
        if step.knobs is not None:
            knobs.apply(step.knobs)
        if step.outage_s is not None:
            listener.begin(step.outage_s)

    proxy = CognitoProxy(args.cognito_endpoint, knobs.cognito_quota_per_s)
    control = create_control_app(
        knobs=knobs, schedule=Scheduler(apply), outage=listener, proxy=proxy
    )
    servers = [
        WSGIServer((args.host, args.control_port), control, log=None),
        WSGIServer((args.host, args.proxy_port), proxy, log=None),
    ]
    stopping = Event()
    gevent.signal_handler(signal.SIGTERM, stopping.set)
    gevent.signal_handler(signal.SIGINT, stopping.set)

    listener.start()
    for server in servers:
        server.start()
    logger.info(
        "chat api listening on http://%s:%s (control port %s, cognito proxy port %s)",
        args.host,
        args.port,
        args.control_port,
        args.proxy_port,
    )
    try:
        stopping.wait()
    finally:
        listener.stop()
        for server in servers:
            server.stop(timeout=1)


def main() -> int:
    """Run :func:`serve`, turning a refused setting into one line and status 2.

    Returns:
        The process exit status.
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return serve()
    except LoadgateError as exc:
        print(f"sandbox api: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    sys.exit(main())
