"""The sandbox: a local stand-in for the production chat API and its Cognito user pool.

Two processes run on 127.0.0.1, each in its own session: a moto server emulating Cognito
(user pool, app client, test users ``loadtest-user-0000``...) and the chat API process.
That process serves three ports: the chat API itself, a Flask app on gevent's WSGI
server that verifies Cognito tokens like API Gateway does, stores rooms and messages in
SQLite, injects latency and faults on request and logs every request as a JSON line;
the control port, for knobs, schedules and outages, which stays up while the API is
down; and a quota proxy in front of moto that throttles sign-ins like Cognito. Start it
from Python::

    with sandbox.running(Path(".sandbox"), users=5, cognito_quota_per_s=20) as state:
        ctl = sandbox.control(state)
        ctl.set_knobs({"latency_ms": {"get_me": {"dist": "lognormal",
                                                 "median_ms": 80, "sigma": 0.5}}})
        ctl.schedule([{"after_s": 30, "outage": {"seconds": 10}}])
        ...  # state.api_url, state.cognito_endpoint, state.usernames, state.password

or from a shell with ``python -m sandbox up`` and ``python -m sandbox down``.

Endpoint keys, which name the knobs and appear in the request log, are listed in
:data:`ENDPOINT_KEYS`; fault kinds in :data:`FAULT_KINDS`.
"""

from __future__ import annotations

from sandbox._cli import main
from sandbox._client import SandboxControl, control
from sandbox._faults import FAULT_KINDS, FAULT_STATUSES, FaultSpec
from sandbox._knobs import ENDPOINT_KEYS, KnobTable, parse_knobs
from sandbox._latency import LatencySpec
from sandbox._lifecycle import Sandbox, running, start, status, stop
from sandbox._proxy import SIGN_IN_TARGETS, ProxyStats
from sandbox._requestlog import RequestRecord, read_request_log
from sandbox._schedule import OutageStatus, ScheduleView
from sandbox._state import SandboxState

__all__ = [
    "ENDPOINT_KEYS",
    "FAULT_KINDS",
    "FAULT_STATUSES",
    "SIGN_IN_TARGETS",
    "FaultSpec",
    "KnobTable",
    "LatencySpec",
    "OutageStatus",
    "ProxyStats",
    "RequestRecord",
    "Sandbox",
    "SandboxControl",
    "SandboxState",
    "ScheduleView",
    "control",
    "main",
    "parse_knobs",
    "read_request_log",
    "running",
    "start",
    "status",
    "stop",
]
