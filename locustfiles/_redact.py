"""A last line of defence for secrets in Locust's logs.

Every handler of the root logger gets a formatter that rewrites, in the final text
(tracebacks included), bearer tokens, anything shaped like a JWT, and the secrets it was
given (the test password, the client secret). loadgate never logs them on purpose; this
catches what a library or a target might put in an exception message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

__all__ = ["REDACTED", "RedactingFormatter", "install", "redact"]

REDACTED = "<redacted>"

_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9\-._~+/]+=*", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with tokens and the given secrets replaced by a marker."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(lambda match: match.group(1) + REDACTED, text)
    return _JWT.sub(REDACTED, text)


class RedactingFormatter(logging.Formatter):
    """Formats like the formatter it wraps, then redacts the result.

    Args:
        inner: The handler's own formatter (None: logging's default).
        secrets: Exact strings that must never appear.
    """

    def __init__(self, inner: logging.Formatter | None, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.secrets = tuple(secret for secret in secrets if secret)

    def format(self, record: logging.LogRecord) -> str:
        """Format the record with the inner formatter, then redact it."""
        return redact(self.inner.format(record), self.secrets)


def install(secrets: Iterable[str] = ()) -> None:
    """Wrap the formatter of every root handler (once) so its output is redacted."""
    kept = tuple(secrets)
    for handler in logging.getLogger().handlers:
        formatter = handler.formatter
        if isinstance(formatter, RedactingFormatter):
            formatter.secrets = tuple({*formatter.secrets, *kept} - {""})
            continue
        handler.setFormatter(RedactingFormatter(formatter, kept))
