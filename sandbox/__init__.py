"""The sandbox: a local stand-in for the production chat API and its Cognito user pool.

Two processes run on 127.0.0.1, each in its own session: a moto server emulating Cognito
(user pool, app client, test users ``loadtest-user-0000``...) and the chat API, a Flask
app on gevent's WSGI server that verifies Cognito tokens like API Gateway does, stores
rooms and messages in SQLite, injects latency and errors on request, and logs every
request as a JSON line. Start it from Python::

    with sandbox.running(Path(".sandbox"), users=5) as state:
        ...  # state.api_url, state.cognito_endpoint, state.usernames, state.password

or from a shell with ``python -m sandbox up`` and ``python -m sandbox down``.

Endpoint keys, which name the knobs and appear in the request log, are listed in
:data:`ENDPOINT_KEYS`.
"""

from __future__ import annotations

from sandbox._cli import main
from sandbox._knobs import ENDPOINT_KEYS, parse_knobs
from sandbox._lifecycle import Sandbox, running, start, status, stop
from sandbox._requestlog import RequestRecord, read_request_log
from sandbox._state import SandboxState

__all__ = [
    "ENDPOINT_KEYS",
    "RequestRecord",
    "Sandbox",
    "SandboxState",
    "main",
    "parse_knobs",
    "read_request_log",
    "running",
    "start",
    "status",
    "stop",
]
