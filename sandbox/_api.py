"""The chat API: a Flask app that stands in for API Gateway, Lambda and Aurora.

Routes and their endpoint keys (the names knobs and the request log use)::

    GET  /health                          health         no auth
    GET  /api/v1/rooms                    list_rooms
    GET  /api/v1/users/me                 get_me
    GET  /api/v1/rooms/<room>/messages    list_messages
    POST /api/v1/rooms/<room>/messages    post_message
    GET  /_sandbox/ready                  (control: readiness probe, not logged)
    GET  /_sandbox/knobs                  (control, not logged, no auth)
    POST /_sandbox/knobs                  (control, not logged, no auth)

Every ``/api/`` request needs ``Authorization: Bearer <token>`` with a Cognito ID or
access token of the sandbox's user pool and app client. After authentication, the
endpoint's knobs (see :mod:`sandbox._knobs`) draw its latency, reported in the
``X-Sandbox-Delay-Ms`` response header, and may inject a fault. The answer is held
until that latency has passed since the request line arrived (the token check and the
handler's own work included), which is what the request log's ``duration_ms`` then
shows. A ``reset`` or
``timeout`` fault marks the request with :data:`DROP_KEY`; the gevent handler in
:mod:`sandbox._listener` then closes the connection without a response, and the
request log records status 0. The app is built by :func:`create_app` from injected
parts, so it runs under gevent in the sandbox process and under Flask's test client
alike (where a dropped request is answered normally).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from flask import Flask, Response, g, jsonify, request

from sandbox._control import install_json_errors, install_knob_routes, json_error
from sandbox._faults import Fault
from sandbox._knobs import ENDPOINT_KEYS, Knobs
from sandbox._requestlog import RequestLog
from sandbox._store import ChatStore
from sandbox._tokens import TokenRejectedError, TokenVerifier, bearer_token

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 2000
#: WSGI environ key the app sets to ``"reset"`` or ``"close"`` to drop the connection.
DROP_KEY = "sandbox.drop"
#: WSGI environ key: when the request line was read, by ``time.perf_counter``.
ARRIVED_KEY = "sandbox.arrived"
#: WSGI environ key: the same moment in epoch seconds, the log's ``ts``.
ARRIVED_AT_KEY = "sandbox.arrived_at"
#: WSGI environ key the server sets when it could not write the answer.
UNSENT_KEY = "sandbox.unsent"
DELAY_HEADER = "X-Sandbox-Delay-Ms"
_DELAY_KEY = "sandbox.delay_ms"
_TIMEOUT_HOLD_KEY = "sandbox.timeout_hold_s"
_RECORD_KEY = "sandbox.record"
_CONTROL_PREFIX = "/_sandbox/"


def create_app(
    *,
    verifier: TokenVerifier,
    store: ChatStore,
    knobs: Knobs,
    request_log: RequestLog,
    sleep: Callable[[float], None],
    clock: Callable[[], float] = time.time,
    timer: Callable[[], float] = time.perf_counter,
) -> Flask:
    """Build the chat API.

    Args:
        verifier: Checks bearer tokens on ``/api/`` routes.
        store: Rooms and messages.
        knobs: The live knob table; it draws each request's delay and fault.
        request_log: Where each non-control request is recorded.
        sleep: Waits the injected latency without blocking other requests
            (``gevent.sleep`` in the sandbox process).
        clock: Epoch seconds, for the log's ``ts``.
        timer: A monotonic clock in seconds, for ``duration_ms``.

    Returns:
        The WSGI application.
    """
    app = Flask("sandbox")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024

    _install_hooks(app, verifier, knobs)
    _install_error_handlers(app)
    _install_chat_routes(app, store)
    install_knob_routes(app, knobs)

    @app.get("/_sandbox/ready", endpoint="_sandbox_ready")
    def ready() -> Response:
        return jsonify(status="ok")

    app.wsgi_app = _HoldThenLog(  # type: ignore[method-assign]
        app.wsgi_app, request_log, sleep, clock, timer
    )
    return app


def _install_hooks(app: Flask, verifier: TokenVerifier, knobs: Knobs) -> None:
    """Register authentication, the knobs' draw and the log record's fields."""

    @app.before_request
    def authenticate() -> Response | None:
        if not request.path.startswith("/api/"):
            return None
        try:
            g.claims = verifier.verify(
                bearer_token(request.headers.get("Authorization"))
            )
        except TokenRejectedError as exc:
            response = json_error(str(exc), exc.status)
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        return None

    @app.before_request
    def inject_faults() -> Response | None:
        key = request.endpoint
        if key not in ENDPOINT_KEYS:
            return None
        delay_ms, fault = knobs.draw(key)
        if delay_ms > 0:
            request.environ[_DELAY_KEY] = delay_ms
        if fault is None:
            return None
        return _fault_response(key, fault)

    @app.after_request
    def record(response: Response) -> Response:
        if request.path.startswith(_CONTROL_PREFIX):
            return response
        delay_ms = request.environ.get(_DELAY_KEY)
        if delay_ms is not None:
            response.headers[DELAY_HEADER] = f"{delay_ms:.3f}"
        endpoint = request.endpoint if request.endpoint in ENDPOINT_KEYS else None
        dropped = request.environ.get(DROP_KEY) is not None
        request.environ[_RECORD_KEY] = _Fields(
            method=request.method,
            endpoint=endpoint,
            path=request.path,
            status=0 if dropped else response.status_code,
        )
        return response


class _Fields(NamedTuple):
    """What the log records of a request, known once Flask has answered it."""

    method: str
    endpoint: str | None
    path: str
    status: int


class _HoldThenLog:
    """Wraps the Flask app: times each request, holds its answer, then logs it.

    The hold comes after Flask has built the whole answer, just before the server
    writes it, so a latency knob is the time from the request line's arrival to the
    answer leaving, the token check, the handler and Flask's own work included; that
    is the logged ``duration_ms``. The log line is written once the server is done
    with the answer (when it closes the body, as WSGI servers must): with status 0 if
    the answer could not be written.

    Args:
        wsgi_app: Flask's WSGI callable.
        request_log: Where each non-control request is recorded.
        sleep: Waits without blocking other requests.
        clock: Epoch seconds, for the log's ``ts`` when no server stamped it.
        timer: A monotonic clock in seconds, the one :data:`ARRIVED_KEY` is read on.
    """

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        request_log: RequestLog,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        timer: Callable[[], float],
    ) -> None:
        self._app = wsgi_app
        self._log = request_log
        self._sleep = sleep
        self._clock = clock
        self._timer = timer

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Run the app and hold its answer for the drawn latency.

        Args:
            environ: The request's WSGI environment.
            start_response: The server's callable for the status and headers.

        Returns:
            The answer's body, which logs the request when the server closes it.
        """
        # The gevent handler stamps the request line's arrival, before the headers are
        # parsed and Flask routes the request: that time is part of the latency too.
        started = environ.get(ARRIVED_KEY)
        if started is None:
            started = self._timer()
        arrived = environ.get(ARRIVED_AT_KEY)
        if arrived is None:
            arrived = self._clock()
        body = self._app(environ, start_response)
        delay_ms = environ.get(_DELAY_KEY)
        if delay_ms is not None:
            self._sleep(max(started + delay_ms / 1000.0 - self._timer(), 0.0))
        hold_s = environ.get(_TIMEOUT_HOLD_KEY)
        if hold_s is not None:
            self._sleep(hold_s)
        fields = environ.get(_RECORD_KEY)
        if fields is None:
            return body
        duration_ms = round((self._timer() - started) * 1000.0, 3)

        def log() -> None:
            unsent = environ.get(UNSENT_KEY) is not None
            self._log.write(
                {
                    "ts": arrived,
                    "method": fields.method,
                    "endpoint": fields.endpoint,
                    "path": fields.path,
                    "status": 0 if unsent else fields.status,
                    "duration_ms": duration_ms,
                }
            )

        return _LoggedBody(body, log)


class _LoggedBody:
    """An answer's body that logs its request once the server closes it."""

    def __init__(self, body: Iterable[bytes], log: Callable[[], None]) -> None:
        self._body = body
        self._log = log

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._body)

    def close(self) -> None:
        """Close the wrapped body, then write the log line."""
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._log()


def _fault_response(key: str, fault: Fault) -> Response:
    """Build the answer of an injected fault, or mark the connection to be dropped."""
    if fault.kind == "echo_auth":
        # Deliberately leaky: proves that clients keep this header out of their reports.
        response = jsonify(
            error=f"injected error on {key}",
            authorization=request.headers.get("Authorization"),
        )
        response.status_code = 500
        return response
    if fault.kind == "status":
        response = json_error(f"injected error on {key}", fault.status)
        if fault.retry_after_s is not None:
            response.headers["Retry-After"] = str(fault.retry_after_s)
        return response

    if fault.kind == "timeout":
        # Held after the endpoint's latency, then dropped.
        request.environ[_TIMEOUT_HOLD_KEY] = fault.hold_s or 0.0
    request.environ[DROP_KEY] = "reset" if fault.kind == "reset" else "close"
    # Never sent: the handler closes the connection instead of writing this.
    return json_error(f"injected {fault.kind} on {key}", 503)


def _install_error_handlers(app: Flask) -> None:
    """Answer every error with a JSON body instead of Flask's HTML pages."""
    install_json_errors(app)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        logger.error(
            "request failed: %s %s: %s",
            request.method,
            request.path,
            type(exc).__name__,
        )
        return json_error("internal error", 500)


def _install_chat_routes(app: Flask, store: ChatStore) -> None:
    """Register the health check and the four authenticated chat routes."""

    @app.get("/health", endpoint="health")
    def health() -> Response:
        return jsonify(status="ok")

    @app.get("/api/v1/rooms", endpoint="list_rooms")
    def list_rooms() -> Response:
        return jsonify(rooms=store.list_rooms())

    @app.get("/api/v1/users/me", endpoint="get_me")
    def get_me() -> Response:
        claims: dict[str, Any] = g.claims
        return jsonify(
            username=_username(claims), sub=claims["sub"], token_use=claims["token_use"]
        )

    @app.get("/api/v1/rooms/<room_id>/messages", endpoint="list_messages")
    def list_messages(room_id: str) -> Response:
        if not store.has_room(room_id):
            return json_error(f"unknown room {room_id!r}", 404)
        return jsonify(room_id=room_id, messages=store.list_messages(room_id))

    @app.post("/api/v1/rooms/<room_id>/messages", endpoint="post_message")
    def post_message(room_id: str) -> Response:
        if not store.has_room(room_id):
            return json_error(f"unknown room {room_id!r}", 404)
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return json_error("body must be a JSON object with a non-empty 'text'", 400)
        if len(text) > MAX_TEXT_LENGTH:
            return json_error(
                f"text has {len(text)} characters; the limit is {MAX_TEXT_LENGTH}", 400
            )

        message = store.add_message(room_id, _username(g.claims), text)
        response = jsonify(message)
        response.status_code = 201
        return response


def _username(claims: dict[str, Any]) -> str:
    """Return the Cognito username: ``cognito:username`` (ID) or ``username``."""
    name = claims.get("cognito:username") or claims.get("username") or claims["sub"]
    return str(name)
