"""The control port: knobs, schedules, outages and proxy counters of a running sandbox.

The control port is a second listener of the chat API process, so it keeps answering
while an outage has the API's own port closed. Routes, all JSON, none logged in the
request log; a refused body answers 400 ``{"error": message}`` naming the field::

    GET  /_sandbox/ready          {"status": "ok", "api": "up" | "down"}
    GET  /_sandbox/knobs          the knob table
    POST /_sandbox/knobs          merge a knob change (see sandbox._knobs); the new table
    GET  /_sandbox/schedule       the schedule: posted_at, applied, pending steps
    POST /_sandbox/schedule       replace it: {"steps": [...]} (see sandbox._schedule)
    GET  /_sandbox/outage         {"down", "until", "reopen_error"}
    POST /_sandbox/outage         {"seconds": N}: refuse connections for N s; 0 ends it
    GET  /_sandbox/proxy/stats    the Cognito proxy's counters (see sandbox._proxy)

The API's own port keeps ``GET /_sandbox/ready`` and ``GET``/``POST /_sandbox/knobs``
for clients written before the control port existed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from loadgate.errors import SandboxError
from sandbox._knobs import Knobs, parse_update
from sandbox._proxy import ProxyStats
from sandbox._schedule import (
    OutageStatus,
    ScheduleView,
    Step,
    parse_outage,
    parse_schedule,
)

logger = logging.getLogger(__name__)


class OutageSwitch(Protocol):
    """Takes the chat API down and brings it back."""

    def begin(self, seconds: float) -> OutageStatus:
        """Refuse connections for ``seconds``; 0 ends a running outage."""
        ...

    def status(self) -> OutageStatus:
        """Say whether the API is down."""
        ...


class StepRunner(Protocol):
    """Holds the schedule and applies its steps on time."""

    def replace(self, steps: Sequence[Step]) -> ScheduleView:
        """Drop the current schedule and start ``steps``."""
        ...

    def view(self) -> ScheduleView:
        """Describe the schedule."""
        ...


class StatsSource(Protocol):
    """Counts the calls through the Cognito proxy."""

    def stats(self) -> ProxyStats:
        """Return the counters."""
        ...


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


def install_json_errors(app: Flask) -> None:
    """Answer every HTTP error of ``app`` with a JSON body instead of an HTML page.

    Args:
        app: The application.
    """

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        name = exc.name.lower()
        response = json_error(
            f"{name}: {request.method} {request.path}", exc.code or 500
        )
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response


def install_knob_routes(app: Flask, knobs: Knobs) -> None:
    """Register ``GET`` and ``POST /_sandbox/knobs`` on an application.

    A change is applied whole or not at all.

    Args:
        app: The chat API or the control application.
        knobs: The live knob table.
    """

    @app.get("/_sandbox/knobs", endpoint="_sandbox_knobs_read")
    def read_knobs() -> Response:
        return jsonify(knobs.snapshot())

    @app.post("/_sandbox/knobs", endpoint="_sandbox_knobs_merge")
    def merge_knobs() -> Response:
        body = request.get_json(silent=True)
        try:
            knobs.apply(parse_update(body))
        except SandboxError as exc:
            return json_error(str(exc), 400)
        logger.info("knobs changed: %s", json.dumps(body, sort_keys=True))
        return jsonify(knobs.snapshot())


def create_control_app(
    *,
    knobs: Knobs,
    schedule: StepRunner,
    outage: OutageSwitch,
    proxy: StatsSource,
) -> Flask:
    """Build the control application.

    Args:
        knobs: The live knob table.
        schedule: The schedule runner.
        outage: The switch that takes the chat API down.
        proxy: The Cognito proxy, for its counters.

    Returns:
        The WSGI application.
    """
    app = Flask("sandbox-control")
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    install_json_errors(app)
    install_knob_routes(app, knobs)

    @app.get("/_sandbox/ready", endpoint="ready")
    def ready() -> Response:
        return jsonify(status="ok", api="down" if outage.status()["down"] else "up")

    @app.get("/_sandbox/schedule", endpoint="schedule_read")
    def read_schedule() -> Response:
        return jsonify(schedule.view())

    @app.post("/_sandbox/schedule", endpoint="schedule_replace")
    def replace_schedule() -> Response:
        return _validated(lambda body: schedule.replace(parse_schedule(body)))

    @app.get("/_sandbox/outage", endpoint="outage_read")
    def read_outage() -> Response:
        return jsonify(outage.status())

    @app.post("/_sandbox/outage", endpoint="outage_begin")
    def begin_outage() -> Response:
        return _validated(lambda body: outage.begin(parse_outage(body)))

    @app.get("/_sandbox/proxy/stats", endpoint="proxy_stats")
    def proxy_stats() -> Response:
        return jsonify(proxy.stats())

    return app


def _validated(action: Callable[[object], object]) -> Response:
    """Run ``action`` on the JSON body; a refused body answers 400 with the reason."""
    try:
        return jsonify(action(request.get_json(silent=True)))
    except SandboxError as exc:
        return json_error(str(exc), 400)
