"""The chat API's per-request log: one JSON object per line, appended to a file.

Each line holds ``ts`` (arrival, epoch seconds), ``method``, ``endpoint`` (the
endpoint key, or null for unknown paths), ``path``, ``status`` (0 when a ``reset`` or
``timeout`` fault closed the connection without a response, or the response could not
be written: an outage, a client gone) and ``duration_ms`` (from the request line's
arrival until the response was handed to the server to write).
Headers, query strings and bodies are never written, so no token can reach the file.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TypedDict

from loadgate.errors import SandboxError


class RequestRecord(TypedDict):
    """One line of ``requests.jsonl``."""

    ts: float
    method: str
    endpoint: str | None
    path: str
    status: int
    duration_ms: float


class RequestLog:
    """Appends request records to a JSON-lines file, one flushed line each.

    Args:
        path: The file; created when missing, appended to otherwise.

    Raises:
        SandboxError: The file cannot be opened for appending.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        try:
            self._file = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise SandboxError(
                f"cannot open the request log {str(path)!r}: {exc}"
            ) from exc

    def write(self, record: RequestRecord) -> None:
        """Append one record as a JSON line and flush it.

        Args:
            record: The request to log.
        """
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


def read_request_log(path: Path) -> list[RequestRecord]:
    """Read every record of a request log.

    Args:
        path: The ``requests.jsonl`` file.

    Returns:
        The records in the order they were written; empty when the file is missing.
        A last line still being written (no newline yet) is left out.

    Raises:
        SandboxError: A line is not a JSON object.
    """
    if not path.exists():
        return []

    # Everything after the last newline is a line the API has not finished writing.
    complete = path.read_text(encoding="utf-8").split("\n")[:-1]
    records: list[RequestRecord] = []
    for number, line in enumerate(complete, 1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SandboxError(f"{str(path)!r} line {number}: not JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise SandboxError(f"{str(path)!r} line {number}: not a JSON object")
        records.append(record)  # type: ignore[arg-type]
    return records
