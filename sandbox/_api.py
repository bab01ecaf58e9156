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
access token of the sandbox's user pool and app client. The app is built by
:func:`create_app` from injected parts, so it runs under gevent in the sandbox process
and under Flask's test client alike.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from loadgate.errors import SandboxError
from sandbox._knobs import ENDPOINT_KEYS, Knobs
from sandbox._requestlog import RequestLog
from sandbox._store import ChatStore
from sandbox._tokens import TokenRejectedError, TokenVerifier, bearer_token

logger = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 2000
_CONTROL_PREFIX = "/_sandbox/"
_KNOB_SECTIONS = ("latency_ms", "error_rate")


def create_app(
    *,
    verifier: TokenVerifier,
    store: ChatStore,
    knobs: Knobs,
    request_log: RequestLog,
    sleep: Callable[[float], None],
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.time,
    timer: Callable[[], float] = time.perf_counter,
) -> Flask:
    """Build the chat API.

    Args:
        verifier: Checks bearer tokens on ``/api/`` routes.
        store: Rooms and messages.
        knobs: The live latency and error-rate table.
        request_log: Where each non-control request is recorded.
        sleep: Waits the injected latency without blocking other requests
            (``gevent.sleep`` in the sandbox process).
        rng: Decides which requests get an injected error.
        clock: Epoch seconds, for the log's ``ts``.
        timer: A monotonic clock in seconds, for ``duration_ms``.

    Returns:
        The WSGI application.
    """
    app = Flask("sandbox")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    chance = rng or random.Random()

    _install_hooks(app, verifier, knobs, request_log, sleep, chance, clock, timer)
    _install_error_handlers(app)
    _install_chat_routes(app, store)
    _install_control_routes(app, knobs)
    return app


def json_error(message: str, status: int) -> Response:
    """Build a ``{"error": message}`` JSON response.

    Args:
        message: What went wrong; must never contain a token.
        status: The HTTP status.

    Returns:
        The response.
    """
    response = jsonify(error=message)
    response.status_code = status
    return response


def _install_hooks(
    app: Flask,
    verifier: TokenVerifier,
    knobs: Knobs,
    request_log: RequestLog,
    sleep: Callable[[float], None],
    chance: random.Random,
    clock: Callable[[], float],
    timer: Callable[[], float],
) -> None:
    """Register arrival stamping, authentication, fault injection and logging."""

    @app.before_request
    def stamp_arrival() -> None:
        g.arrived = clock()
        g.started = timer()

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
        delay_ms = knobs.latency_ms(key)
        if delay_ms > 0:
            sleep(delay_ms / 1000.0)
        if chance.random() < knobs.error_rate(key):
            return json_error(f"injected error on {key}", 500)
        return None

    @app.after_request
    def record(response: Response) -> Response:
        if request.path.startswith(_CONTROL_PREFIX):
            return response
        endpoint = request.endpoint if request.endpoint in ENDPOINT_KEYS else None
        request_log.write(
            {
                "ts": g.arrived,
                "method": request.method,
                "endpoint": endpoint,
                "path": request.path,
                "status": response.status_code,
                "duration_ms": round((timer() - g.started) * 1000.0, 3),
            }
        )
        return response


def _install_error_handlers(app: Flask) -> None:
    """Answer every error with a JSON body instead of Flask's HTML pages."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        name = exc.name.lower()
        response = json_error(
            f"{name}: {request.method} {request.path}", exc.code or 500
        )
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

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


def _install_control_routes(app: Flask, knobs: Knobs) -> None:
    """Register the readiness probe and ``/_sandbox/knobs``, which reads and merges."""

    @app.get("/_sandbox/ready", endpoint="_sandbox_ready")
    def ready() -> Response:
        return jsonify(status="ok")

    @app.get("/_sandbox/knobs", endpoint="_sandbox_knobs_read")
    def read_knobs() -> Response:
        return jsonify(knobs.snapshot())

    @app.post("/_sandbox/knobs", endpoint="_sandbox_knobs_merge")
    def merge_knobs() -> Response:
        body = request.get_json(silent=True)
        try:
            latency, errors = _knob_sections(body)
            knobs.update(latency, errors)
        except SandboxError as exc:
            return json_error(str(exc), 400)
        logger.info("knobs changed: %s", knobs.snapshot())
        return jsonify(knobs.snapshot())


def _knob_sections(body: object) -> tuple[dict[str, object], dict[str, object]]:
    """Split a knob request body into its latency and error-rate mappings."""
    if not isinstance(body, dict):
        raise SandboxError(
            "body must be a JSON object with 'latency_ms' and/or 'error_rate'"
        )
    unknown = sorted(set(body) - set(_KNOB_SECTIONS))
    if unknown:
        raise SandboxError(
            f"unknown field {unknown[0]!r}; expected 'latency_ms' and/or 'error_rate'"
        )

    sections: list[dict[str, object]] = []
    for name in _KNOB_SECTIONS:
        section = body.get(name, {})
        if not isinstance(section, dict):
            raise SandboxError(
                f"{name!r} must be an object of endpoint keys to numbers"
            )
        sections.append(section)
    return sections[0], sections[1]


def _username(claims: dict[str, Any]) -> str:
    """Return the Cognito username: ``cognito:username`` (ID) or ``username``."""
    name = claims.get("cognito:username") or claims.get("username") or claims["sub"]
    return str(name)
