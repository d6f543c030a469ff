"""What the emulator remembers between requests: logins in progress, codes, tokens, rights.

Two stores with one interface: in memory, for one process (the demo, the tests), and in a
SQLite file named by ``EMULATOR_STATE_FILE``, shared by every process that opens it, so the
emulator can run as several gunicorn workers (the login benchmark does). Entries expire;
a code is claimed once, atomically, in either store.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

from flask import abort

# Codes and logins in progress live minutes; rights to a system stay until the emulator stops
# (a year is "until then" for a development tool).
FOREVER = 365 * 24 * 3600


class State(ABC):
    @abstractmethod
    def put(self, space: str, key: str, value: dict[str, Any], ttl: float) -> None: ...

    @abstractmethod
    def get(self, space: str, key: str) -> dict[str, Any] | None:
        """The value, or None when there is none or it has expired."""

    @abstractmethod
    def pop(self, space: str, key: str) -> dict[str, Any] | None:
        """The value (None as for get), removed."""

    @abstractmethod
    def claim(self, space: str, key: str) -> dict[str, Any] | None:
        """The value the first time it is claimed before it expires; None ever after."""

    # Logins in progress, shared by the ESIA and mos.ru profiles: the client's request kept
    # under a random id while the person picks a persona and grants rights.
    def begin(self, params: dict[str, Any], ttl: float) -> str:
        request_id = secrets.token_urlsafe(24)
        self.put("login", request_id, params, ttl)
        return request_id

    def waiting(self, request_id: str) -> dict[str, Any]:
        """The login's request, or 404 when unknown or expired."""
        params = self.get("login", request_id)
        if params is None:
            abort(404)
        return params


class MemoryState(State):
    """One process's memory, behind a lock (gunicorn's threads share it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[dict[str, Any], float, bool]] = {}

    def put(self, space, key, value, ttl):
        now = time.time()
        with self._lock:
            if len(self._entries) > 10_000:  # forget what has expired, now and then
                self._entries = {k: e for k, e in self._entries.items() if e[1] >= now}
            self._entries[space, key] = (value, now + ttl, False)

    def get(self, space, key):
        entry = self._entries.get((space, key))
        return entry[0] if entry and entry[1] >= time.time() else None

    def pop(self, space, key):
        with self._lock:
            entry = self._entries.pop((space, key), None)
        return entry[0] if entry and entry[1] >= time.time() else None

    def claim(self, space, key):
        with self._lock:
            entry = self._entries.get((space, key))
            if entry is None or entry[2] or entry[1] < time.time():
                return None
            self._entries[space, key] = (entry[0], entry[1], True)
            return entry[0]


class SqliteState(State):
    """A SQLite file shared by processes: each thread of each process has its own connection
    (opened after gunicorn forks), and every change is one statement, so nothing needs a lock
    of ours; WAL lets readers and the writer work at once."""

    SCHEMA = (
        "CREATE TABLE IF NOT EXISTS state (space TEXT NOT NULL, key TEXT NOT NULL, "
        "value TEXT NOT NULL, expires REAL NOT NULL, claimed INTEGER NOT NULL DEFAULT 0, "
        "PRIMARY KEY (space, key)) WITHOUT ROWID"
    )

    def __init__(self, path: Path):
        self.path = Path(path)
        self._local = threading.local()
        self._connection().execute(self.SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            connection = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")  # a development tool's scratch state
            local.connection, local.pid = connection, os.getpid()
        return local.connection

    def put(self, space, key, value, ttl):
        now = time.time()
        connection = self._connection()
        if secrets.randbelow(200) == 0:  # forget what has expired, now and then
            connection.execute("DELETE FROM state WHERE expires < ?", (now,))
        connection.execute(
            "INSERT OR REPLACE INTO state (space, key, value, expires) VALUES (?, ?, ?, ?)",
            (space, key, json.dumps(value), now + ttl),
        )

    def get(self, space, key):
        row = (
            self._connection()
            .execute(
                "SELECT value FROM state WHERE space = ? AND key = ? AND expires >= ?",
                (space, key, time.time()),
            )
            .fetchone()
        )
        return json.loads(row[0]) if row else None

    def pop(self, space, key):
        row = (
            self._connection()
            .execute(
                "DELETE FROM state WHERE space = ? AND key = ? RETURNING value, expires",
                (space, key),
            )
            .fetchone()
        )
        return json.loads(row[0]) if row and row[1] >= time.time() else None

    def claim(self, space, key):
        row = (
            self._connection()
            .execute(
                "UPDATE state SET claimed = 1 WHERE space = ? AND key = ? AND claimed = 0 "
                "AND expires >= ? RETURNING value",
                (space, key, time.time()),
            )
            .fetchone()
        )
        return json.loads(row[0]) if row else None


def make_state(path: str | os.PathLike | None) -> State:
    return SqliteState(Path(path)) if path else MemoryState()
