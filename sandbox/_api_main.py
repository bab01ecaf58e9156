"""Entry point of the chat API process: gevent's WSGI server in front of the Flask app.

The sandbox runs this file as a script (``python -P .../_api_main.py``), never as
``python -m``: running a package module would import ``sandbox/__init__.py``, and
with it ssl and threading, before gevent could patch them. Patching therefore comes
first here.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import jwt  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402

from loadgate.errors import LoadgateError  # noqa: E402
from sandbox._api import create_app  # noqa: E402
from sandbox._knobs import Knobs, parse_env, parse_items  # noqa: E402
from sandbox._requestlog import RequestLog  # noqa: E402
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
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--cognito-endpoint", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--user-pool-id", required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--latency", action="append", default=[], metavar="KEY=MS")
    parser.add_argument(
        "--error-rate", action="append", default=[], metavar="KEY=FRACTION"
    )
    return parser


def _knobs(args: argparse.Namespace) -> Knobs:
    """Build the knob table: environment variables first, flags override them."""
    latency = parse_env("latency_ms", os.environ)
    latency.update(parse_items("latency_ms", args.latency, "--latency"))
    errors = parse_env("error_rate", os.environ)
    errors.update(parse_items("error_rate", args.error_rate, "--error-rate"))
    return Knobs(latency, errors)


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
        sleep=gevent.sleep,
    )
    server = WSGIServer((args.host, args.port), app, log=None)
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)

    logger.info("chat api listening on http://%s:%s", args.host, args.port)
    try:
        server.serve_forever()
    finally:
        store.close()
        request_log.close()
    logger.info("chat api stopped")
    return 0


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
