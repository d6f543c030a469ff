"""Views' audit rows on the embedded database: appended to a spool beside the database file
before the page is shown, moved into ``audit_event`` in groups.

A view of a child's diary writes one audit row. On SQLite its own commit was a fifth of the
view's CPU (docs/performance.md), and a group of 64 rows commits for about a fifth of what
64 commits cost. The row is not put at risk for this: it is in the spool before the page is
shown, written by one ``write()``, which a crash of the process cannot undo once it
returned, exactly as a commit in WAL mode with ``synchronous=NORMAL`` (app/database.py):
either is lost only with the machine's power, before the system wrote its pages out. The
spool lies beside the database file, on the same disk. On PostgreSQL, whose server keeps
the trail apart from the portal's machines, the row is committed there as before.

The spool, ``<database file>-audit-spool/``:

- ``current``: one line of JSON per row, appended by every worker: each write opens the
  file, takes a shared lock, checks that the name still leads to the file it opened, writes
  the whole line at once (``O_APPEND``), between two line ends, and closes it;
- ``batch-<time>-<random>``: ``current``, renamed by a drain (the new name synced to the
  disk before the rows are committed). The drain then takes the file's
  exclusive lock, which it gets once every writer that had it open has written and closed
  it (a writer that opened it but wrote nothing yet finds the name leads elsewhere and opens
  the new ``current``); it reads the rows, inserts them and the batch's name into
  ``audit_spool_batch`` in one transaction, which on SQLite waits for the disk
  (``synchronous=FULL``: a power cut must not keep the file's removal and lose the rows),
  deletes the file (the removal synced too), then the name. A drain that
  stopped after its commit leaves the file and its name: the next deletes the file without
  inserting the rows again. One that stopped before its commit leaves the file: the next
  inserts it.
- ``lock``: one drain at a time.

A line that cannot be read (a write cut short by a full disk, whose page failed) is not
dropped: it becomes an event ``audit_spool_unreadable`` with what its start still says in the
columns (a row's columns come before its detail: when, the region, who, about whom), so that
the region's log and a person's erasure find it, the rest as text, and an error in the log.

When the rows move: after a response, by the worker whose write brought ``current`` to
``DRAIN_AT`` bytes (or by the drain already running, which looks again); and before anything
reads the trail
(:func:`settle`), so whoever reads it finds every view made before, and before a person's
erasure, so that their views are pseudonymised with the rest. ``flask audit drain`` does it
by hand (before copying the database file, say).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, after_this_request, current_app, g
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import URL, Connection, Engine, make_url

from app.extensions import db
from app.models import AuditEvent, AuditSpoolBatch
from app.settings import SettingsError

log = logging.getLogger("portal.audit")

# A drain after this many bytes of rows (about 70 views' rows).
DRAIN_AT = 16 * 1024
# How many times over a drain after a response looks again (see Spool.drain).
ROUNDS = 8
CURRENT, LOCK, BATCH = "current", "lock", "batch-"
UNREADABLE = "audit_spool_unreadable"
# The columns a spooled row gives, in the line's order (``created_at`` as ISO 8601 with its
# zone): the detail last, so that a line cut short still names whom and when.
COLUMNS = ("created_at", "tenant", "kind", "actor_id", "subject_id", "subject_person_id", "ip",
           "detail")  # fmt: skip
# What the start of a cut line still says, as the writer wrote it (JSON, no spaces).
_START = re.compile(
    r'\{"created_at":"(?P<created_at>[^"\\]*)"'
    r'(?:,"tenant":(?:"(?P<tenant>[a-z0-9_-]{1,32})"|null)'
    r'(?:,"kind":"(?P<kind>[a-z0-9_]{1,64})"'
    r'(?:,"actor_id":(?:(?P<actor_id>\d{1,10})|null)'
    r'(?:,"subject_id":(?:(?P<subject_id>\d{1,10})|null)'
    r'(?:,"subject_person_id":(?:(?P<subject_person_id>\d{1,10})|null)'
    r'(?:,"ip":(?:"(?P<ip>[0-9a-fA-F.:]{1,45})"|null))?)?)?)?)?)?'
)
_MAX_ID = 2**31 - 1
_EVENTS = AuditEvent.__table__
_BATCHES = AuditSpoolBatch.__table__


class Spool:
    def __init__(self, directory: Path):
        self.directory = directory
        self.current = directory / CURRENT

    def append(self, row: Mapping[str, Any]) -> bool:
        """Write one row (``COLUMNS``); whether the spool has grown enough to be drained.

        The line is written between two line ends: a line a full disk cut short stays a line
        of its own, never glued to the next (blank lines are skipped)."""
        ordered = {name: row[name] for name in COLUMNS}  # a cut line keeps its columns first
        text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"))
        line = b"\n" + text.encode() + b"\n"
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        while True:
            try:
                fd = os.open(self.current, flags, 0o600)
            except FileNotFoundError:  # the directory was removed: made again
                self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                opened = os.fstat(fd)
                try:
                    named = os.stat(self.current)
                except FileNotFoundError:
                    continue  # a drain took it: the next open makes a new one
                if (named.st_dev, named.st_ino) != (opened.st_dev, opened.st_ino):
                    continue  # a drain took it and a writer made a new one
                written = os.write(fd, line)
                if written != len(line):  # a full disk: the page fails, the row was not kept
                    raise OSError(f"the audit spool took {written} of {len(line)} bytes")
                return opened.st_size + written >= DRAIN_AT
            finally:
                os.close(fd)

    def drain(self, engine: Engine, *, wait: bool = True) -> int:
        """Move every spooled row into the audit table; how many moved.

        Without ``wait`` (after a response) it gives way to a drain already running, and
        looks again when its own is done: what was written while it held the lock is moved
        by it, if that made the spool big enough, since the writer that gave way found it
        held (a few rounds at most, then the writers' next drains)."""
        moved = 0
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # if it was removed
        for _ in range(ROUNDS):
            lock = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    return moved  # the drain that holds it looks again when it is done
                batches = sorted(self.directory.glob(f"{BATCH}*"))  # a stopped drain's first
                if _size(self.current):
                    claimed = f"{BATCH}{time.time_ns():020d}-{secrets.token_hex(4)}"
                    os.rename(self.current, self.directory / claimed)
                    self._sync()  # the new name on the disk before its rows are committed
                    batches.append(self.directory / claimed)
                for batch in batches:
                    moved += self._move(engine, batch)
                if batches:  # names a stop left behind (their files are gone): forgotten
                    with engine.begin() as connection:
                        connection.execute(delete(_BATCHES))
            finally:
                os.close(lock)
            if wait or _size(self.current) < DRAIN_AT:
                break
        return moved

    def _move(self, engine: Engine, path: Path) -> int:
        with open(path, "rb") as file:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX)  # every writer that had it open is done
            text = file.read()
        lines = [(number, line) for number, line in enumerate(text.split(b"\n")) if line.strip()]
        rows = [_row(line, path.name, number) for number, line in lines]
        # The batch's file goes once its rows are in: their commit must be on the disk first,
        # not only written (a power cut must not keep the file's removal without the rows),
        # and the removal on the disk before the name is (or the rows would come in twice).
        with engine.connect() as connection:
            durable = connection.dialect.name == "sqlite"
            if durable:
                _pragma(connection, "synchronous=FULL")
            try:
                with connection.begin():
                    moved = self._insert(connection, path.name, rows)
            finally:
                if durable:  # back in the pool as the other connections are, or not at all
                    try:
                        _pragma(connection, "synchronous=NORMAL")
                    except Exception:
                        connection.invalidate()
                        raise
        path.unlink()
        self._sync()
        with engine.begin() as connection:
            connection.execute(delete(_BATCHES).where(_BATCHES.c.name == path.name))
        return moved

    def _sync(self) -> None:
        """The directory's names (a rename, a removal) on the disk."""
        fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _insert(connection, name: str, rows: list[dict[str, Any]]) -> int:
        """A batch's rows and its name, in the caller's transaction; none if the name is there
        already (its rows are in)."""
        if connection.execute(select(_BATCHES.c.name).where(_BATCHES.c.name == name)).first():
            return 0
        if rows:
            connection.execute(insert(_EVENTS), rows)
        batch = {"name": name, "rows": len(rows), "drained_at": datetime.now(UTC)}
        connection.execute(insert(_BATCHES), batch)
        return len(rows)


def _pragma(connection: Connection, setting: str) -> None:
    connection.exec_driver_sql(f"PRAGMA {setting}")
    connection.commit()  # (SQLAlchemy's own transaction: SQLite began none for a PRAGMA)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _row(line: bytes, batch: str, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
        values = {name: row[name] for name in COLUMNS}
        values["created_at"] = _moment(values["created_at"])
        return values
    except (ValueError, KeyError, TypeError) as error:
        log.error(
            "an audit spool line could not be read: kept as an event of its own",
            extra={"error": type(error).__name__, "batch": batch, "line": number},
        )
        return _unreadable(line.decode("utf-8", "replace"), batch, number)


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a time without its zone")
    return moment.astimezone(UTC)


def _unreadable(text: str, batch: str, number: int) -> dict[str, Any]:
    """An event of its own for a line that cannot be read, with what its start still says in
    the columns (so that the region's log and a person's erasure find it), and the rest as
    text."""
    start = _START.match(text)
    said = start.groupdict() if start else {}
    try:
        moment = _moment(said.get("created_at") or "")
    except ValueError:
        moment = datetime.now(UTC)

    def number_of(name: str) -> int | None:
        value = said.get(name)
        return int(value) if value and int(value) <= _MAX_ID else None

    return {
        "created_at": moment, "tenant": said.get("tenant"), "kind": UNREADABLE,
        "actor_id": number_of("actor_id"), "subject_id": number_of("subject_id"),
        "subject_person_id": number_of("subject_person_id"), "ip": said.get("ip"),
        "detail": {"kind": said.get("kind"), "rest": text[start.end():] if start else text,
                   "batch": batch, "number": number},
    }  # fmt: skip


def spool_directory(database_url: str | URL, instance: Path | None = None) -> Path | None:
    """Where the spool of this database lies: beside its file, on SQLite; else None. A
    relative file is the ``instance`` folder's, as Flask-SQLAlchemy opens it."""
    url = make_url(database_url)
    name = url.database or ""
    if url.get_backend_name() != "sqlite" or name in ("", ":memory:") or name.startswith("file:"):
        return None
    path = (instance or Path.cwd()) / name  # (an absolute name stays as it is)
    path = path.resolve()  # the same directory however the file is reached
    return path.with_name(f"{path.name}-audit-spool")


def writable(directory: Path) -> Path:
    """The spool's directory, made if need be and tried; a start that would fail every diary
    view stops with one line (SettingsError) instead."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(directory / LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
    except OSError as error:
        raise SettingsError(
            f"the audit spool {directory} (beside the database) cannot be written: "
            f"{error.strerror}; the portal's user needs it (docs/operations.md)"
        ) from None
    return directory


def init_app(app: Flask) -> None:
    with app.app_context():  # the file the engine opens
        directory = spool_directory(db.engine.url)
    if directory is not None:
        app.extensions["audit_spool"] = Spool(writable(directory))


def spool() -> Spool | None:
    return current_app.extensions.get("audit_spool")


def append(row: Mapping[str, Any]) -> None:
    """Spool a row (of the request's app, which has a spool); drained after the response if
    it made the spool big enough."""
    if spool().append(row) and not g.get("audit_drain_after"):
        g.audit_drain_after = True
        app = current_app._get_current_object()

        @after_this_request
        def drain_when_sent(response):
            response.call_on_close(lambda: _drain_quietly(app))
            return response


def _drain_quietly(app: Flask) -> None:
    """After the page was sent: a failure leaves the rows in the spool for the next drain."""
    with app.app_context():
        try:
            app.extensions["audit_spool"].drain(db.engine, wait=False)
        except Exception as error:  # the rows stay spooled; said in the log
            log.warning("the audit spool could not be drained; its rows wait for the next drain",
                        extra={"error": type(error).__name__,
                               "spool": str(app.extensions["audit_spool"].directory)})  # fmt: skip


def settle() -> int:
    """Before the trail is read or changed: every spooled row in the table. The drain
    commits on a connection of its own, so it comes before the request writes anything: one
    that has written holds SQLite's lock, which the drain would wait for in vain."""
    found = spool()
    if found is None:
        return 0
    if _writing():
        raise RuntimeError("the audit spool is settled before the request writes, not after")
    return found.drain(db.engine)


def _writing() -> bool:
    session = db.session()
    if session.new or session.dirty or session.deleted:
        return True
    if not session.in_transaction():
        return False
    raw = session.connection().connection.dbapi_connection
    return bool(getattr(raw, "in_transaction", False))  # sqlite3: a write has begun
