"""A trivial HTTP server for benchmarks: answers every request with 200 ``ok``.

Run as ``python bench/_trivial_server.py PORT``; it serves on 127.0.0.1 until killed.
"""

from gevent import monkey

monkey.patch_all()

import socket  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from typing import Any  # noqa: E402

from gevent.pywsgi import WSGIServer  # noqa: E402


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer ``ok`` to anything."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]


class NoDelayServer(WSGIServer):  # type: ignore[misc]
    """Sends each response at once (no Nagle delay on small keep-alive replies)."""

    def handle(self, sock: socket.socket, address: Any) -> None:
        """Serve one connection with TCP_NODELAY set."""
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


if __name__ == "__main__":
    NoDelayServer(("127.0.0.1", int(sys.argv[1])), app, log=None).serve_forever()
