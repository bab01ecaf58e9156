"""The chat API's listening socket: faults that drop connections, and outages.

Only the chat API process imports this module (it needs gevent). Two things need the
socket itself, below the WSGI application:

* a ``reset`` or ``timeout`` fault: the application marks the request with
  :data:`~sandbox._api.DROP_KEY` and the handler then closes the connection instead of
  answering (with a TCP reset for ``reset``);
* an outage: the listening socket is closed, so new connections are refused, and every
  open connection is shut down; when the outage ends, a new socket listens on the same
  port.
"""

from __future__ import annotations

import logging
import re
import socket
import struct
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.pywsgi import WSGIHandler, WSGIServer

from sandbox._api import ARRIVED_AT_KEY, ARRIVED_KEY, DROP_KEY, UNSENT_KEY
from sandbox._schedule import OutageStatus

logger = logging.getLogger(__name__)

REOPEN_TIMEOUT_S = 10.0
_REOPEN_POLL_S = 0.1
# A query string inside a quoted request line, up to the space before the version.
_QUERY = re.compile(r"\?[^\s'\"]*")
# SO_LINGER on with a zero timeout: close() sends a TCP reset instead of a FIN.
_LINGER_RESET = struct.pack("ii", 1, 0)


class _Handler(WSGIHandler):  # type: ignore[misc]  # gevent ships no type stubs
    """Serves one connection; tracks it for outages and drops it when told to."""

    def handle(self) -> None:
        connections: set[Any] = self.server.connections
        sock = self.socket
        # Send each response at once, as production's load balancers do: without
        # this, Nagle's algorithm and the client's delayed ACK add ~40 ms to replies
        # written in two parts.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connections.add(sock)
        try:
            super().handle()
        finally:
            connections.discard(sock)

    def read_requestline(self) -> str:
        # Note when the request's first line came in, so a latency knob counts from
        # there (as API Gateway's Latency metric does), not from the app being called.
        line: str = super().read_requestline()
        self.arrived = time.perf_counter()
        self.arrived_at = time.time()
        return line

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ[ARRIVED_KEY] = self.arrived
        environ[ARRIVED_AT_KEY] = self.arrived_at
        return environ

    def log_error(self, msg: str, *args: Any) -> None:
        # gevent quotes a request line it refuses whole, and a query string may carry
        # a token: the log keeps the path and drops the query.
        text = msg % args if args else msg
        super().log_error("%s", _QUERY.sub("?(query removed)", text))

    def process_result(self) -> None:
        drop = self.environ.get(DROP_KEY)
        if drop is None:
            try:
                super().process_result()
            except OSError:
                # The connection went (an outage, or the client gave up and reset
                # it): the request log must not record an answer nobody received.
                self.environ[UNSENT_KEY] = True
                raise
            return
        # Nothing was written yet: closing now leaves the client without a response.
        self.close_connection = True
        if drop == "reset":
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)


class _Server(WSGIServer):  # type: ignore[misc]  # gevent ships no type stubs
    """A WSGI server whose handlers record their connections in a shared set."""

    def __init__(self, address: tuple[str, int], app: Any, connections: set[Any]):
        super().__init__(address, app, handler_class=_Handler, log=None)
        self.connections = connections


class ApiListener:
    """Serves the chat API on one port and takes it down for outages.

    Args:
        host: The address to listen on.
        port: The port; the same one is reopened after an outage.
        app: The WSGI application.
        clock: Epoch seconds, for the outage's end time.
        reopen_timeout: Seconds to keep trying to listen again after an outage.
    """

    def __init__(
        self,
        host: str,
        port: int,
        app: Any,
        *,
        clock: Callable[[], float] = time.time,
        reopen_timeout: float = REOPEN_TIMEOUT_S,
    ) -> None:
        self._address = (host, port)
        self._app = app
        self._clock = clock
        self._reopen_timeout = reopen_timeout
        self._connections: set[Any] = set()
        self._server: Any = None
        self._until: float | None = None
        self._reopener: Any = None
        self._error: str | None = None

    def start(self) -> None:
        """Listen and serve.

        Raises:
            OSError: The port cannot be bound.
        """
        server = _Server(self._address, self._app, self._connections)
        server.start()
        self._server = server

    def stop(self) -> None:
        """Stop listening for good; requests in flight get a second to finish."""
        self._cancel_reopen()
        if self._server is not None:
            self._server.stop(timeout=1)
            self._server = None

    def begin(self, seconds: float) -> OutageStatus:
        """Take the API down for ``seconds``, or end a running outage with 0.

        A new outage during one replaces its end time.

        Args:
            seconds: How long new connections are refused.

        Returns:
            The outage status afterwards.
        """
        self._cancel_reopen()
        if seconds <= 0:
            self._reopen()
            return self.status()

        if self._server is not None:
            self._server.close()
            self._server = None
            self._drop_connections()
        self._until = self._clock() + seconds
        self._reopener = gevent.spawn_later(seconds, self._reopen)
        logger.warning(
            "outage: chat api on port %s refuses connections for %s s",
            self._address[1],
            seconds,
        )
        return self.status()

    def status(self) -> OutageStatus:
        """Say whether the API is down.

        Returns:
            ``down``, ``until`` (epoch seconds, or None) and ``reopen_error``.
        """
        return {
            "down": self._server is None,
            "until": self._until,
            "reopen_error": self._error,
        }

    def _cancel_reopen(self) -> None:
        """Kill the greenlet waiting to end an outage, if any."""
        if self._reopener is not None:
            self._reopener.kill()
            self._reopener = None

    def _drop_connections(self) -> None:
        """Shut down every open connection, idle keep-alive ones included."""
        for sock in list(self._connections):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _reopen(self) -> None:
        """Listen again on the same port, retrying while something else holds it."""
        self._reopener = None
        deadline = time.monotonic() + self._reopen_timeout
        while self._server is None:
            try:
                self.start()
            except OSError as exc:
                if time.monotonic() >= deadline:
                    self._error = f"cannot listen on port {self._address[1]}: {exc}"
                    logger.error("outage over but %s; the api stays down", self._error)
                    return
                gevent.sleep(_REOPEN_POLL_S)
            else:
                logger.info(
                    "outage over: chat api listens on port %s", self._address[1]
                )
        self._until = None
        self._error = None
