"""Rooms and messages of the chat API, kept in one SQLite file.

One connection is shared by every request and guarded by a lock: under gevent the
lock is cooperative, and SQLite calls never yield, so each operation runs whole.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from loadgate.errors import SandboxError

SEED_ROOMS: tuple[tuple[str, str], ...] = (
    ("general", "General"),
    ("random", "Random"),
    ("support", "Support"),
    ("engineering", "Engineering"),
    ("load-test", "Load Test"),
)
MESSAGE_PAGE = 50

_SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id TEXT NOT NULL REFERENCES rooms(id),
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room_id, id);
"""


class Room(TypedDict):
    """A chat room as the API returns it."""

    id: str
    name: str


class Message(TypedDict):
    """A stored message as the API returns it."""

    id: int
    room_id: str
    author: str
    text: str
    created_at: float


class ChatStore:
    """SQLite-backed rooms and messages.

    Args:
        path: The database file; created with the seed rooms when missing.
        clock: Returns the current epoch time in seconds, for ``created_at``.

    Raises:
        SandboxError: The database cannot be opened or created.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, timeout=5.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            with self._db:
                self._db.executemany(
                    "INSERT OR IGNORE INTO rooms (id, name) VALUES (?, ?)", SEED_ROOMS
                )
        except sqlite3.Error as exc:
            raise SandboxError(
                f"cannot open the chat database {str(path)!r}: {exc}"
            ) from exc

    def close(self) -> None:
        """Close the database connection."""
        with self._lock:
            self._db.close()

    def list_rooms(self) -> list[Room]:
        """Return every room, ordered by id.

        Returns:
            The rooms.
        """
        with self._lock:
            rows = self._db.execute("SELECT id, name FROM rooms ORDER BY id").fetchall()
        return [{"id": row[0], "name": row[1]} for row in rows]

    def has_room(self, room_id: str) -> bool:
        """Tell whether a room exists.

        Args:
            room_id: The room id.

        Returns:
            True when the room exists.
        """
        with self._lock:
            row = self._db.execute("SELECT 1 FROM rooms WHERE id = ?", (room_id,))
            return row.fetchone() is not None

    def list_messages(self, room_id: str, limit: int = MESSAGE_PAGE) -> list[Message]:
        """Return the latest messages of a room, oldest first.

        Args:
            room_id: The room id.
            limit: How many of the latest messages to return.

        Returns:
            Up to ``limit`` messages.
        """
        query = (
            "SELECT id, room_id, author, text, created_at FROM messages"
            " WHERE room_id = ? ORDER BY id DESC LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(query, (room_id, limit)).fetchall()
        return [_message(row) for row in reversed(rows)]

    def add_message(self, room_id: str, author: str, text: str) -> Message:
        """Store a message and return it.

        Args:
            room_id: The room id; the caller checks that it exists.
            author: The Cognito username of the sender.
            text: The message text.

        Returns:
            The stored message with its id and timestamp.
        """
        created_at = self._clock()
        insert = (
            "INSERT INTO messages (room_id, author, text, created_at)"
            " VALUES (?, ?, ?, ?)"
        )
        with self._lock, self._db:
            cursor = self._db.execute(insert, (room_id, author, text, created_at))
            message_id = cursor.lastrowid
        return {
            "id": int(message_id or 0),
            "room_id": room_id,
            "author": author,
            "text": text,
            "created_at": created_at,
        }


def _message(row: tuple[int, str, str, str, float]) -> Message:
    """Turn a ``messages`` row into the API shape."""
    return {
        "id": row[0],
        "room_id": row[1],
        "author": row[2],
        "text": row[3],
        "created_at": row[4],
    }
