"""The audit spool (app/audit_spool.py): a view's row is written before the page is shown and
reaches the audit table exactly once, whatever stops where: writers and drains at once, a
writer killed, a drain stopped before or after its commit, a line cut short."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from app import audit, audit_log, audit_spool
from app.audit_spool import BATCH, CURRENT, UNREADABLE, Spool, spool_directory
from app.extensions import db
from app.models import AuditEvent, AuditSpoolBatch

KIND = "spool_test_view"


def row(number: int, writer: int = 0, when: datetime | None = None) -> dict:
    moment = when or datetime(2026, 12, 7, 3, 0, tzinfo=UTC) + timedelta(seconds=number)
    return {"created_at": moment.isoformat(), "kind": KIND, "tenant": "mosreg",
            "actor_id": 10 + writer, "ip": "192.0.2.7", "subject_id": None,
            "subject_person_id": 500 + number,
            "detail": {"writer": writer, "n": number, "role": "guardian", "week": "2026-W49"}}  # fmt: skip


def events(kind: str = KIND) -> list[AuditEvent]:
    return db.session.scalars(select(AuditEvent).filter_by(kind=kind).order_by(AuditEvent.id)).all()


@pytest.fixture
def spool(app, tmp_path):
    """A spool of its own, drained into the test's database (SQLite or PostgreSQL)."""
    with app.app_context():
        yield Spool(tmp_path)
        db.session.execute(delete(AuditEvent).where(AuditEvent.kind.in_((KIND, UNREADABLE))))
        db.session.commit()


def test_a_drained_row_is_the_row_written(spool):
    spool.append(row(1, when=datetime(2026, 12, 7, 3, 4, 5, 678901, tzinfo=UTC)))
    assert spool.drain(db.engine) == 1
    (event,) = events()
    columns = (event.tenant, event.actor_id, event.ip, event.subject_id, event.subject_person_id)
    assert columns == ("mosreg", 10, "192.0.2.7", None, 501)
    assert event.detail == {"writer": 0, "n": 1, "role": "guardian", "week": "2026-W49"}
    stored = event.created_at.replace(tzinfo=event.created_at.tzinfo or UTC)
    assert stored == datetime(2026, 12, 7, 3, 4, 5, 678901, tzinfo=UTC)
    assert sorted(p.name for p in spool.directory.iterdir()) == ["lock"]  # nothing left over
    assert db.session.scalar(select(func.count()).select_from(AuditSpoolBatch)) == 0
    assert spool.drain(db.engine) == 0


def test_the_writer_says_when_the_spool_is_worth_draining(spool, monkeypatch):
    assert spool.append(row(1)) is False
    line = (spool.directory / CURRENT).stat().st_size
    monkeypatch.setattr(audit_spool, "DRAIN_AT", 3 * line)
    assert [spool.append(row(n)) for n in range(2, 5)] == [False, True, True]


def _write(directory: str, writer: int, count: int) -> None:
    own = Spool(Path(directory))
    for number in range(count):
        own.append(row(number, writer))


def test_writers_and_drains_at_once_lose_and_repeat_nothing(spool):
    writers = [multiprocessing.get_context("fork").Process(target=_write,
                                                           args=(str(spool.directory), w, 250))
               for w in range(4)]  # fmt: skip
    for process in writers:
        process.start()
    moved = 0
    while any(process.is_alive() for process in writers):
        moved += spool.drain(db.engine)
    for process in writers:
        process.join()
        assert process.exitcode == 0
    moved += spool.drain(db.engine)
    written = [(e.detail["writer"], e.detail["n"]) for e in events()]
    assert moved == len(written) == 1000
    assert sorted(written) == [(w, n) for w in range(4) for n in range(250)]


def test_a_write_the_drain_took_the_file_from_goes_to_the_new_one(spool, monkeypatch):
    """A writer opened ``current``; before it writes, a drain renames, moves and deletes it."""
    spool.append(row(1))
    real_flock, raced = audit_spool.fcntl.flock, []

    def drain_first(fd, operation):
        if operation == audit_spool.fcntl.LOCK_SH and not raced:
            raced.append(spool.drain(db.engine))
        return real_flock(fd, operation)

    monkeypatch.setattr(audit_spool.fcntl, "flock", drain_first)
    spool.append(row(2))
    monkeypatch.undo()
    assert raced == [1]
    assert spool.drain(db.engine) == 1
    assert [e.detail["n"] for e in events()] == [1, 2]


def test_a_drain_waits_for_a_writer_in_the_middle_of_its_line(spool):
    """A writer has checked its file and holds its lock; the drain renames the file and waits
    until the line is written."""
    import fcntl
    import threading

    spool.append(row(1))
    writer = os.open(spool.directory / CURRENT, os.O_WRONLY | os.O_APPEND)
    fcntl.flock(writer, fcntl.LOCK_SH)
    moved = []
    engine = db.engine
    drain = threading.Thread(target=lambda: moved.append(spool.drain(engine)))
    drain.start()
    drain.join(timeout=1)
    assert drain.is_alive() and moved == []  # waiting for the writer
    os.write(writer, json.dumps(row(2)).encode() + b"\n")
    os.close(writer)
    drain.join(timeout=10)
    assert moved == [2]
    assert [e.detail["n"] for e in events()] == [1, 2]


def test_a_writer_killed_after_writing_loses_nothing(spool):
    def write_and_die():
        spool.append(row(7))
        os.kill(os.getpid(), signal.SIGKILL)

    process = multiprocessing.get_context("fork").Process(target=write_and_die)
    process.start()
    process.join()
    assert process.exitcode == -signal.SIGKILL
    assert spool.drain(db.engine) == 1 and events()[0].detail["n"] == 7


def test_a_drain_stopped_after_its_commit_inserts_nothing_twice(spool, monkeypatch):
    spool.append(row(1))
    spool.append(row(2))
    original = Path.unlink

    def stop(path, *args, **kwargs):
        if path.name.startswith(BATCH):
            raise KeyboardInterrupt("stopped between the commit and the file's removal")
        return original(path, *args, **kwargs)

    monkeypatch.setattr(Path, "unlink", stop)
    with pytest.raises(KeyboardInterrupt):
        spool.drain(db.engine)
    monkeypatch.undo()
    assert len(events()) == 2
    (left,) = spool.directory.glob(f"{BATCH}*")
    assert db.session.get(AuditSpoolBatch, left.name).rows == 2
    spool.append(row(3))
    assert spool.drain(db.engine) == 1  # the third; the first two are in already
    assert [e.detail["n"] for e in events()] == [1, 2, 3]
    assert not list(spool.directory.glob(f"{BATCH}*"))
    assert db.session.scalar(select(func.count()).select_from(AuditSpoolBatch)) == 0


def test_a_drain_stopped_before_its_commit_leaves_its_rows_for_the_next(spool, monkeypatch):
    spool.append(row(1))

    def refused(*args, **kwargs):
        raise ConnectionError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(spool, "_insert", refused)
        with pytest.raises(ConnectionError):
            spool.drain(db.engine)
    assert events() == [] and len(list(spool.directory.glob(f"{BATCH}*"))) == 1
    spool.append(row(2))
    assert spool.drain(db.engine) == 2
    assert [e.detail["n"] for e in events()] == [1, 2]


def test_a_line_cut_short_stays_apart_kept_as_an_event_of_its_region(spool, caplog, monkeypatch):
    """A full disk cuts a write short: that page fails, and what was written is neither
    glued to the next person's row nor dropped: what its start says is in the columns, so
    that the region's log finds it, and a person's erasure."""
    from app.erasure import _pseudonymise

    real_write = os.write

    def full_disk(fd, data):  # the system took the line up to its detail, then the disk was full
        return real_write(fd, data[: data.index(b'"detail"') + 12])

    monkeypatch.setattr(audit_spool.os, "write", full_disk)
    with pytest.raises(OSError, match="the audit spool took"):
        spool.append(row(2))
    monkeypatch.undo()
    spool.append(row(3))
    with caplog.at_level(logging.ERROR, logger="portal.audit"):
        assert spool.drain(db.engine) == 2
    assert [e.detail["n"] for e in events()] == [3]
    (kept,) = events(UNREADABLE)
    columns = (kept.tenant, kept.actor_id, kept.subject_person_id, kept.ip)
    assert columns == ("mosreg", 10, 502, "192.0.2.7")
    assert kept.created_at.replace(tzinfo=UTC) == datetime(2026, 12, 7, 3, 0, 2, tzinfo=UTC)
    assert kept.detail["kind"] == KIND and kept.detail["rest"] == ',"detail":{"w'
    assert kept.detail["batch"].startswith(BATCH) and kept.detail["number"] == 1
    assert "could not be read" in caplog.text
    assert _pseudonymise(10, "mosreg", "Удалённый 10") == 2  # it and row 3
    db.session.commit()
    assert db.session.scalar(select(AuditEvent.actor_id).filter_by(kind=UNREADABLE)) is None


def test_lines_of_nothing_readable_are_kept_as_they_were(spool):
    with open(spool.directory / CURRENT, "ab") as file:
        file.write(b'\n\x00{"tenant":"mosreg","actor_id":10}\n')  # not a line of ours
        file.write(b'\n{"created_at":"not a time","tenant":"mosreg","kind":"x\n')
    before = datetime.now(UTC)
    spool.drain(db.engine)
    garbage, untimed = events(UNREADABLE)
    assert (garbage.tenant, garbage.actor_id) == (None, None)
    assert garbage.detail["rest"] == '\x00{"tenant":"mosreg","actor_id":10}'
    assert untimed.tenant == "mosreg" and untimed.detail["rest"] == ',"kind":"x'
    assert untimed.created_at.replace(tzinfo=UTC) >= before.replace(microsecond=0)  # the drain's


def test_a_spool_directory_removed_is_made_again(spool):
    import shutil

    shutil.rmtree(spool.directory)
    assert spool.drain(db.engine) == 0  # a reader's drain, before any view
    shutil.rmtree(spool.directory)
    spool.append(row(1))
    assert spool.drain(db.engine) == 1


def test_the_trail_is_settled_before_a_write_never_after(app):
    """The drain commits on a connection of its own: after the request wrote, it would wait
    for the request's own lock. It says so at once instead."""
    with app.test_request_context("/", base_url="http://mosreg.localhost/"):
        if audit_spool.spool() is None:
            pytest.skip("PostgreSQL: no spool, nothing to settle (the rows are in the table)")
        audit.record("spool_test_write", commit=False)
        with pytest.raises(RuntimeError, match="before the request writes"):
            audit_spool.settle()
        db.session.rollback()
        assert audit_spool.settle() == 0


def test_the_names_a_stop_left_behind_are_forgotten(spool):
    left = AuditSpoolBatch(name=f"{BATCH}00000000000000000001-0000abcd", rows=3)
    db.session.add(left)
    db.session.commit()
    spool.append(row(1))
    assert spool.drain(db.engine) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditSpoolBatch)) == 0


def test_on_sqlite_a_batch_is_on_the_disk_before_its_file_goes(spool):
    """synchronous=NORMAL writes a commit without waiting for the disk; a batch's commit must
    be on it before its file is deleted, or a power cut could keep neither."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL: every commit waits for its server's disk (synchronous_commit)")
    from sqlalchemy import event

    said: list[str] = []

    def statement(conn, cursor, text, *args):
        said.append(text.split("(")[0].strip())

    spool.append(row(1))
    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        spool.drain(db.engine)
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    full = said.index("PRAGMA synchronous=FULL")
    normal = said.index("PRAGMA synchronous=NORMAL")
    assert full < said.index("INSERT INTO audit_event") < normal
    with db.engine.connect() as connection:  # the pooled connection is as the others again
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1


def test_a_drain_that_would_wait_gives_way(spool):
    spool.append(row(1))
    import fcntl

    held = os.open(spool.directory / "lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert spool.drain(db.engine, wait=False) == 0
    finally:
        os.close(held)
    assert spool.drain(db.engine, wait=False) == 1


def test_a_drain_that_gave_way_leaves_its_rows_to_the_one_running(spool, monkeypatch):
    """Drain A holds the lock; a writer's row comes, its drain gives way; A, done, looks again
    and moves it: no row waits for a reader because two drains met."""
    import threading

    monkeypatch.setattr(audit_spool, "DRAIN_AT", 1)
    spool.append(row(1))
    inside, go_on, real_insert = threading.Event(), threading.Event(), Spool._insert

    def slow_insert(connection, name, rows):
        inside.set()
        go_on.wait(10)
        return real_insert(connection, name, rows)

    monkeypatch.setattr(spool, "_insert", slow_insert)
    engine, moved = db.engine, []
    first = threading.Thread(target=lambda: moved.append(spool.drain(engine, wait=False)))
    first.start()
    assert inside.wait(10)
    spool.append(row(2))
    assert spool.drain(engine, wait=False) == 0  # gave way
    go_on.set()
    first.join(10)
    assert moved == [2]
    assert [e.detail["n"] for e in events()] == [1, 2]


def test_the_spool_lies_beside_a_sqlite_file_only():
    assert spool_directory("sqlite:////srv/portal/instance/portal.db") == Path(
        "/srv/portal/instance/portal.db-audit-spool"
    )
    for url in ("sqlite://", "sqlite:///:memory:", "sqlite:///file:portal?mode=memory&uri=true",
                "postgresql://portal@db/portal"):  # fmt: skip
        assert spool_directory(url) is None


def test_a_view_is_written_before_it_returns_and_read_by_the_trail(app):
    """On SQLite into the spool, elsewhere into the table; the trail's reader finds it."""
    with app.test_request_context("/diary/", base_url="http://mosreg.localhost/"):
        app.preprocess_request()
        audit.record_view(KIND, actor_id=42, student_id=7, role="guardian", week="2026-W49")
        spooled = audit_spool.spool()
        if spooled is None:
            assert [(e.actor_id, e.subject_person_id) for e in events()] == [(42, 7)]
        else:
            (line,) = (spooled.directory / CURRENT).read_text().split()
            assert json.loads(line)["detail"] == {"student_id": 7, "role": "guardian",
                                                  "week": "2026-W49"}  # fmt: skip
            assert events() == []
        wanted = audit_log.Filter(regions=("mosreg",), kind=KIND)
        assert audit_log.count(wanted) == 1  # the reader moved it first
        assert [(e.actor_id, e.subject_person_id) for e in events()] == [(42, 7)]
        db.session.execute(delete(AuditEvent).where(AuditEvent.kind == KIND))
        db.session.commit()


def test_a_spool_that_cannot_be_written_stops_the_start_in_a_line(tmp_path):
    """Rather than every diary view failing later."""
    from app import create_app
    from app.settings import SettingsError
    from tests.conftest import test_environ

    (tmp_path / "portal.db-audit-spool").write_text("a file where the spool goes")
    with pytest.raises(SettingsError, match=r"audit spool .* cannot be written: File exists"):
        create_app(test_environ(f"sqlite:///{tmp_path / 'portal.db'}"))


def test_the_operator_drains_the_spool_by_command(app):
    with app.test_request_context("/diary/", base_url="http://mosreg.localhost/"):
        app.preprocess_request()
        audit.record_view(KIND, actor_id=42, student_id=7, role="guardian", week="2026-W49")
        moved = 0 if audit_spool.spool() is None else 1  # PostgreSQL: committed by the view
    result = app.test_cli_runner().invoke(args=["audit", "drain"])
    assert result.exit_code == 0, result.output
    assert result.output == f"moved {moved} spooled audit rows into the database\n"
    with app.app_context():
        assert [(e.actor_id, e.subject_person_id) for e in events()] == [(42, 7)]
        db.session.execute(delete(AuditEvent).where(AuditEvent.kind == KIND))
        db.session.commit()
