"""The Cognito quota proxy: forwards every call to the emulator, throttling sign-ins.

Real Cognito limits sign-in calls per second; moto does not. The proxy stands between
every client and moto and, when ``InitiateAuth`` or ``AdminInitiateAuth`` calls come
faster than the ``cognito_quota_per_s`` knob allows (a token bucket holding one
second's worth, at least one call; no limit by default), answers the way Cognito does::

    HTTP 400, x-amzn-ErrorType: TooManyRequestsException:
    {"__type": "TooManyRequestsException", "message": "Rate exceeded"}

which botocore raises as a ``ClientError`` with code ``TooManyRequestsException``. It
counts calls per ``X-Amz-Target``; ``GET /_proxy/stats`` returns the counters. Request
bodies (which hold passwords) are forwarded, never logged.

The proxy is a WSGI application served by gevent inside the chat API process, next to
the API and the control port: it reads the quota from the same knob table, so a
schedule step or a knob change moves it together with latencies and faults, and no
extra process has to be started, tracked and stopped.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterable
from typing import TypedDict
from wsgiref.types import StartResponse, WSGIEnvironment

SIGN_IN_TARGETS = (
    "AWSCognitoIdentityProviderService.InitiateAuth",
    "AWSCognitoIdentityProviderService.AdminInitiateAuth",
)
STATS_PATH = "/_proxy/stats"
NO_TARGET = "(none)"
UPSTREAM_TIMEOUT_S = 30.0

_THROTTLED_BODY = json.dumps(
    {"__type": "TooManyRequestsException", "message": "Rate exceeded"}
).encode()
# Headers that describe one connection, not the message: never forwarded either way.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
    }
)


class TargetStats(TypedDict):
    """Calls to one ``X-Amz-Target`` and how many of them were throttled."""

    calls: int
    throttled: int


class ProxyStats(TypedDict):
    """The proxy's counters, as ``GET /_proxy/stats`` returns them.

    ``sign_in_calls`` counts every sign-in received, throttled ones included;
    ``forwarded_calls`` counts calls that reached the emulator, sign-ins or not.
    ``by_target`` is keyed by ``X-Amz-Target``, or ``(none)`` for calls without one.
    """

    quota_per_s: float | None
    sign_in_calls: int
    throttled_calls: int
    forwarded_calls: int
    by_target: dict[str, TargetStats]


class TokenBucket:
    """A token bucket whose rate is given with each call, so a knob can change it.

    The bucket holds ``rate`` tokens at most (at least one when the rate is above
    zero) and starts full, and so does it again whenever the rate changes; a rate of 0
    refuses every call.

    Args:
        clock: Monotonic seconds.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rate: float | None = None
        self._tokens = 0.0
        self._stamp = 0.0

    def take(self, rate: float | None) -> bool:
        """Take one token if there is one.

        Args:
            rate: Tokens added per second; None means no limit.

        Returns:
            True if the call may go ahead.
        """
        now = self._clock()
        if rate is None:
            self._rate = None
            return True

        capacity = max(1.0, rate) if rate > 0 else 0.0
        if rate != self._rate:
            self._rate = rate
            self._tokens = capacity
        else:
            refill = (now - self._stamp) * rate
            self._tokens = min(capacity, self._tokens + refill)
        self._stamp = now

        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class CognitoProxy:
    """The proxy as a WSGI application.

    Args:
        upstream: The emulator's base URL, such as ``http://127.0.0.1:5000``.
        quota: Returns the current sign-in quota per second, or None for no limit.
        clock: Monotonic seconds, for the token bucket.
        timeout: Seconds to wait for the emulator.
    """

    def __init__(
        self,
        upstream: str,
        quota: Callable[[], float | None],
        *,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = UPSTREAM_TIMEOUT_S,
    ) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self._host = parsed.hostname or "127.0.0.1"
        self._port = parsed.port or 80
        self._quota = quota
        self._timeout = timeout
        self._bucket = TokenBucket(clock)
        self._lock = threading.Lock()
        self._by_target: dict[str, TargetStats] = {}
        self._sign_ins = 0
        self._throttled = 0
        self._forwarded = 0

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Answer the stats route, throttle a sign-in over quota, or forward."""
        if (
            environ.get("PATH_INFO") == STATS_PATH
            and environ["REQUEST_METHOD"] == "GET"
        ):
            body = json.dumps(self.stats()).encode()
            return _reply(start_response, "200 OK", "application/json", body)

        if self._throttle(environ.get("HTTP_X_AMZ_TARGET") or NO_TARGET):
            headers = [
                ("x-amzn-ErrorType", "TooManyRequestsException:"),
                ("x-amzn-RequestId", str(uuid.uuid4())),
            ]
            return _reply(
                start_response,
                "400 Bad Request",
                "application/x-amz-json-1.1",
                _THROTTLED_BODY,
                headers,
            )
        return self._forward(environ, start_response)

    def stats(self) -> ProxyStats:
        """Return a copy of the counters.

        Returns:
            The counters and the current quota.
        """
        with self._lock:
            return {
                "quota_per_s": self._quota(),
                "sign_in_calls": self._sign_ins,
                "throttled_calls": self._throttled,
                "forwarded_calls": self._forwarded,
                "by_target": {k: TargetStats(**v) for k, v in self._by_target.items()},
            }

    def _throttle(self, target: str) -> bool:
        """Count a call and tell whether it is a sign-in over quota."""
        with self._lock:
            counts = self._by_target.setdefault(target, {"calls": 0, "throttled": 0})
            counts["calls"] += 1
            if target not in SIGN_IN_TARGETS:
                return False
            self._sign_ins += 1
            if self._bucket.take(self._quota()):
                return False
            counts["throttled"] += 1
            self._throttled += 1
            return True

    def _forward(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """Send the request to the emulator and relay its answer."""
        method = environ["REQUEST_METHOD"]
        path = urllib.parse.quote(
            environ.get("PATH_INFO") or "/", safe="/%:@!$&'()*+,;=~"
        )
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None

        connection = http.client.HTTPConnection(
            self._host, self._port, timeout=self._timeout
        )
        try:
            connection.request(
                method, path, body=body, headers=_request_headers(environ)
            )
            response = connection.getresponse()
            data = response.read()
        except OSError as exc:
            message = json.dumps({"message": f"cognito emulator unreachable: {exc}"})
            return _reply(
                start_response, "502 Bad Gateway", "application/json", message.encode()
            )
        finally:
            connection.close()

        with self._lock:
            self._forwarded += 1
        headers = [
            (name, value)
            for name, value in response.getheaders()
            if name.lower() not in _HOP_BY_HOP
        ]
        headers.append(("Content-Length", str(len(data))))
        start_response(f"{response.status} {response.reason}", headers)
        return [data]


def _request_headers(environ: WSGIEnvironment) -> dict[str, str]:
    """Rebuild the request's end-to-end headers from the WSGI environment."""
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
        and key[5:].replace("_", "-").lower() not in _HOP_BY_HOP
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    return headers


def _reply(
    start_response: StartResponse,
    status: str,
    content_type: str,
    body: bytes,
    extra: list[tuple[str, str]] | None = None,
) -> list[bytes]:
    """Answer with a whole body."""
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    start_response(status, headers + (extra or []))
    return [body]
