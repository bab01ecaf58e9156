"""A client for the control port of a running sandbox, for tests and tools.

::

    ctl = sandbox.control(state)            # or sandbox.control(Path(".sandbox"))
    ctl.set_knobs({"faults": {"get_me": {"rate": 0.1, "kind": "reset"}}})
    ctl.schedule([{"after_s": 0, "knobs": {"latency_ms": {"list_rooms": 50}}},
                  {"after_s": 30, "outage": {"seconds": 10}}])
    ctl.outage(5)
    ctl.proxy_stats()["throttled_calls"]
    ctl.reset()

The sandbox validates every change; a refused one raises
:class:`~loadgate.errors.SandboxError` with the sandbox's message, which names the
field and value.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from loadgate.errors import SandboxError
from sandbox._knobs import ENDPOINT_KEYS, KnobTable
from sandbox._proxy import ProxyStats
from sandbox._schedule import OutageStatus, ScheduleView
from sandbox._state import SandboxState

DEFAULT_TIMEOUT_S = 10.0
_LOCAL_PREFIXES = ("http://127.0.0.1:", "http://localhost:")
# Local endpoints only: never route them through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

#: The knob change :meth:`SandboxControl.reset` posts: no latency, no fault, no quota.
RESET_KNOBS: Mapping[str, object] = {
    "latency_ms": dict.fromkeys(ENDPOINT_KEYS, 0),
    "error_rate": dict.fromkeys(ENDPOINT_KEYS, 0),
    "cognito_quota_per_s": None,
}


class SandboxControl:
    """Talks to the control port of one running sandbox.

    Args:
        control_url: The control port's base URL, ``state.control_url``.
        timeout: Seconds to wait for each answer.

    Raises:
        SandboxError: The URL is not an ``http://`` URL on 127.0.0.1 or localhost.
    """

    def __init__(self, control_url: str, *, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        if not control_url.startswith(_LOCAL_PREFIXES):
            raise SandboxError(
                f"control_url must be http://127.0.0.1:PORT or http://localhost:PORT, "
                f"got {control_url!r}"
            )
        self.url = control_url.rstrip("/")
        self._timeout = timeout

    def knobs(self) -> KnobTable:
        """Return the live knob table.

        Returns:
            Every knob, as ``GET /_sandbox/knobs`` returns it.
        """
        return cast(KnobTable, self._call("GET", "/_sandbox/knobs"))

    def set_knobs(self, knobs: Mapping[str, object]) -> KnobTable:
        """Merge a knob change into the live table, all of it or nothing.

        Args:
            knobs: The change, such as ``{"latency_ms": {"get_me": 50}}``; see
                :mod:`sandbox._knobs` for every field.

        Returns:
            The knob table after the change.

        Raises:
            SandboxError: The sandbox refused the change, or cannot be reached.
        """
        return cast(KnobTable, self._call("POST", "/_sandbox/knobs", knobs))

    def schedule(self, steps: Sequence[Mapping[str, object]]) -> ScheduleView:
        """Replace the schedule; ``after_s`` counts from now. An empty list cancels it.

        Args:
            steps: Steps such as ``{"after_s": 15, "knobs": {...}}`` or
                ``{"at": 1767225600.0, "outage": {"seconds": 10}}``.

        Returns:
            The new schedule, after the steps already due were applied.

        Raises:
            SandboxError: The sandbox refused a step, or cannot be reached.
        """
        body = {"steps": list(steps)}
        return cast(ScheduleView, self._call("POST", "/_sandbox/schedule", body))

    def pending(self) -> ScheduleView:
        """Return the current schedule and the steps not applied yet.

        Returns:
            ``posted_at``, ``applied`` and ``pending``.
        """
        return cast(ScheduleView, self._call("GET", "/_sandbox/schedule"))

    def outage(self, seconds: float) -> OutageStatus:
        """Make the chat API refuse connections for ``seconds``; 0 ends an outage.

        Args:
            seconds: From 0 to 3600.

        Returns:
            The outage status afterwards.

        Raises:
            SandboxError: The sandbox refused the value, or cannot be reached.
        """
        body = {"seconds": seconds}
        return cast(OutageStatus, self._call("POST", "/_sandbox/outage", body))

    def outage_status(self) -> OutageStatus:
        """Say whether the chat API is down.

        Returns:
            ``down``, ``until`` (epoch seconds) and ``reopen_error``.
        """
        return cast(OutageStatus, self._call("GET", "/_sandbox/outage"))

    def proxy_stats(self) -> ProxyStats:
        """Return the Cognito proxy's counters.

        Returns:
            Sign-in, throttled and forwarded calls, per ``X-Amz-Target`` too.
        """
        return cast(ProxyStats, self._call("GET", "/_sandbox/proxy/stats"))

    def reset(self) -> KnobTable:
        """Cancel the schedule, end any outage and clear every latency, fault and quota.

        The seed is left as it is.

        Returns:
            The knob table afterwards.
        """
        self.schedule([])
        self.outage(0)
        return self.set_knobs(RESET_KNOBS)

    def _call(self, method: str, path: str, body: object = None) -> Any:
        """Send one request and return its JSON answer."""
        data = None if body is None else json.dumps(body).encode()
        # The URL was checked to be http:// on 127.0.0.1 or localhost in __init__.
        request = urllib.request.Request(  # noqa: S310
            self.url + path, data=data, method=method
        )
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=self._timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise SandboxError(_refusal(method, self.url + path, exc)) from None
        except (OSError, ValueError) as exc:
            raise SandboxError(
                f"cannot reach the sandbox control port at {self.url}: {exc}; "
                "check it with `python -m sandbox status`"
            ) from exc


def control(
    state: SandboxState | Path, *, timeout: float = DEFAULT_TIMEOUT_S
) -> SandboxControl:
    """Return a client for the control port of a running sandbox.

    Args:
        state: The sandbox's state, or its state directory.
        timeout: Seconds to wait for each answer.

    Returns:
        The client.

    Raises:
        SandboxError: The state directory holds no valid ``state.json``.
    """
    if isinstance(state, Path):
        state = SandboxState.load(state)
    return SandboxControl(state.control_url, timeout=timeout)


def _refusal(method: str, url: str, error: urllib.error.HTTPError) -> str:
    """Return the sandbox's own message for a refused request, or describe the reply."""
    try:
        message = json.loads(error.read()).get("error")
    except (OSError, ValueError, AttributeError):
        message = None
    finally:
        error.close()
    if isinstance(message, str) and error.code == 400:
        return message
    return f"{method} {url} answered {error.code}: {message or error.reason}"
