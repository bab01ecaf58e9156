"""Failure messages that say what went wrong and never carry what the target sent back.

A failed request is recorded by its status or by the kind of connection error, worded
so reporting can class it (``status 429 Too Many Requests``, ``connection refused``,
``connection reset``, ``timed out``); no response body, header or URL query is quoted,
since a target may echo the request's Authorization header into them.
"""

from __future__ import annotations

import http
import socket

__all__ = ["describe_failure"]

_OK_BELOW = 400


def describe_failure(status: int | None, error: BaseException | None) -> str | None:
    """Return how a request failed, or None if it did not.

    Args:
        status: The HTTP status (0 or None when no response came).
        error: The exception the client met, if any.

    Returns:
        A short message without any text from the response, or None for a success.
    """
    code = status or 0
    if code >= _OK_BELOW:
        return f"status {code} {_reason(code)}".rstrip()
    if code and error is None:
        return None
    if error is None:
        return None if code else "no response"
    return _connection_problem(error)


def _reason(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return ""


def _connection_problem(error: BaseException) -> str:
    # geventhttpclient resends an idempotent request once and then raises
    # RetriesExceeded, carrying the last real error as ``original``.
    original = getattr(error, "original", None)
    if isinstance(original, BaseException):
        error = original
    name = type(error).__name__
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError | BrokenPipeError):
        return "connection reset by the target"
    if isinstance(error, TimeoutError | socket.timeout) or "Timeout" in name:
        return "timed out waiting for the target"
    if "Closed" in name or "RemoteDisconnected" in name or "EOF" in name:
        return "connection closed without a response"
    if isinstance(error, OSError):
        return f"connection error ({name}, errno {error.errno})"
    return f"request error ({name})"
