"""Helpers shared by the sandbox tests: HTTP clients, sign-in, polling, process checks."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import sandbox
from sandbox import SandboxState
from sandbox._cognito import cognito_client

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
ZERO_KNOBS = {
    "latency_ms": dict.fromkeys(sandbox.ENDPOINT_KEYS, 0),
    "error_rate": dict.fromkeys(sandbox.ENDPOINT_KEYS, 0),
}
# GET /_sandbox/knobs after a reset with an unpredictable seed.
ZERO_TABLE = {
    **ZERO_KNOBS,
    "faults": {
        key: {"rate": 0, "kind": "status", "status": 500}
        for key in sandbox.ENDPOINT_KEYS
    },
    "cognito_quota_per_s": None,
    "seed": None,
}
T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str]
    elapsed: float


class Api:
    """A tiny HTTP client for the chat API, timing each call."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: object = None,
        authorization: str | None = None,
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        if authorization is not None:
            request.add_header("Authorization", authorization)

        started = time.perf_counter()
        try:
            with _OPENER.open(request, timeout=10) as response:
                status, raw, headers = (
                    response.status,
                    response.read(),
                    response.headers,
                )
        except urllib.error.HTTPError as error:
            status, raw, headers = error.code, error.read(), error.headers
            error.close()
        elapsed = time.perf_counter() - started
        return Reply(status, json.loads(raw) if raw else None, dict(headers), elapsed)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: object, **kwargs: Any) -> Reply:
        return self.call("POST", path, body=body, **kwargs)


def process_gone(pid: int) -> bool:
    """True when no process has this pid, or only an unreaped zombie does."""
    stat = Path(f"/proc/{pid}/stat")
    try:
        text = stat.read_text()
    except FileNotFoundError:
        return True
    return text.rpartition(")")[2].split()[0] == "Z"


def sign_in(state: SandboxState, username: str, client_id: str | None = None) -> dict:
    """Sign a test user in with ADMIN_USER_PASSWORD_AUTH; return the tokens."""
    client = cognito_client(state.cognito_endpoint, state.region)
    try:
        result = client.admin_initiate_auth(
            UserPoolId=state.user_pool_id,
            ClientId=client_id or state.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": state.password},
        )
    finally:
        client.close()
    return result["AuthenticationResult"]


def poll(check: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Call ``check`` until it returns something other than None; fail at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.02)


@dataclass(frozen=True)
class RawOutcome:
    """What one request on a fresh connection ended with: a reply or an exception."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    error: BaseException | None
    elapsed: float


def raw_get(url: str, path: str, headers: dict[str, str] | None = None) -> RawOutcome:
    """GET with http.client on a new connection, keeping connection errors as values."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    started = time.perf_counter()
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return RawOutcome(
            response.status,
            dict(response.getheaders()),
            body,
            None,
            time.perf_counter() - started,
        )
    except OSError as error:
        return RawOutcome(None, {}, b"", error, time.perf_counter() - started)
    finally:
        connection.close()
