"""Failure wording (classable, never quoting the target) and log redaction."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from geventhttpclient.useragent import RetriesExceeded

from locustfiles._failures import describe_failure
from locustfiles._redact import REDACTED, install, redact

TOKEN = "eyJraWQiOiJkdW1teSJ9.eyJzdWIiOiJ1c2VyLTEiLCJ0b2tlbl91c2UiOiJpZCJ9.c2lnbmF0dXJl"


class HTTPConnectionClosed(Exception):
    """Named like geventhttpclient's error for a connection closed mid-request."""


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        (200, None, None),
        (201, None, None),
        (500, None, "status 500 Internal Server Error"),
        (429, None, "status 429 Too Many Requests"),
        (403, ConnectionError(f"403 for Bearer {TOKEN}"), "status 403 Forbidden"),
        (599, None, "status 599"),
        (0, ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (0, ConnectionResetError(104, "reset"), "connection reset by the target"),
        (0, TimeoutError("timed out"), "timed out waiting for the target"),
        (0, HTTPConnectionClosed("closed"), "connection closed without a response"),
        (
            0,
            RetriesExceeded("/x", 1, original=TimeoutError("timed out")),
            "timed out waiting for the target",
        ),
        (0, OSError(113, "No route"), "connection error (OSError, errno 113)"),
        (0, ValueError(f"echo {TOKEN}"), "request error (ValueError)"),
        (0, None, "no response"),
    ],
    ids=[
        "ok",
        "created",
        "500",
        "429",
        "403-quoting-token",
        "unknown-status",
        "refused",
        "reset",
        "timeout",
        "closed",
        "timeout-after-resend",
        "other-oserror",
        "other-error",
        "nothing",
    ],
)
def test_describe_failure(
    status: int, error: BaseException | None, message: str | None
) -> None:
    assert describe_failure(status, error) == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"Authorization: Bearer {TOKEN}", f"Authorization: Bearer {REDACTED}"),
        (f'{{"echo": "{TOKEN}"}}', f'{{"echo": "{REDACTED}"}}'),
        ("password=Secret-1! was wrong", f"password={REDACTED} was wrong"),
        ("bearer abc.def", f"bearer {REDACTED}"),
        ("nothing secret here", "nothing secret here"),
    ],
    ids=["bearer-header", "bare-jwt", "known-secret", "lowercase-bearer", "clean"],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text, ["Secret-1!"]) == expected


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A root handler writing to a buffer, removed after the test."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield buffer
    root.removeHandler(handler)


def test_installed_formatter_redacts_messages_and_tracebacks(
    captured: io.StringIO,
) -> None:
    install(["Secret-1!"])
    log = logging.getLogger("tests.redaction")

    log.warning("sign-in with %s failed", "Secret-1!")
    try:
        raise RuntimeError(f"target said Bearer {TOKEN}")
    except RuntimeError:
        log.exception("request failed")

    text = captured.getvalue()
    assert "Secret-1!" not in text and TOKEN not in text
    assert f"WARNING sign-in with {REDACTED} failed" in text
    assert f"RuntimeError: target said Bearer {REDACTED}" in text
