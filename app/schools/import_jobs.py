"""Registry imports from the web: the uploaded file, the queue of jobs and the workers.

An administrator's upload becomes a job (``app.schools.registry``) whose file is kept in the
database, a chunk at a time: any worker of any instance can read it, nothing of it lies under
the static folder, no address serves it, and it is deleted when the job ends. The job is
checked, then (once the administrator says so) applied, each time by a worker outside the
request:

- by default a thread of the portal process itself (``REGISTRY_IMPORT_WORKER = "thread"``),
  started when a job is queued and again by the job's page while the job waits; it ends when
  the queue is empty. A worker writes a heartbeat with every batch; a job whose heartbeat is
  older than ``REGISTRY_IMPORT_STALE_SECONDS`` (60) is taken for dead, failed and its region's
  lock released — its registry was never touched, the apply being one transaction;
- or ``flask registry work [--wait]`` (set ``REGISTRY_IMPORT_WORKER = "cli"`` so the portal
  starts no thread), for deployments that keep background work out of the web processes.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import BinaryIO, TextIO

from flask import Flask, current_app
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.i18n import gettext as _
from app.models.base import utcnow
from app.models.imports import RegistryImport, RegistryImportProblem
from app.schools import registry, staging
from app.schools.registry import CHUNK, JOB, Busy, JobLost

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 20
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PROBLEMS_PER_PAGE = 50
_START = threading.Lock()


class Refused(Exception):
    """An upload or a request the portal will not take, said in the request's language."""

    status = 400


class TooLarge(Refused):
    status = 413


class NotReady(Exception):
    """The job is not waiting to be applied (already applied, or ended)."""


def upload_limit() -> int:
    return int(current_app.config.get("REGISTRY_UPLOAD_MAX_BYTES", MAX_UPLOAD_BYTES))


def megabytes(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(size)s МБ", size=f"{size / (1024 * 1024):.0f}")
    return _("%(size)s КБ", size=size // 1024)


def too_large() -> str:
    return _(
        "Файл больше %(limit)s: такой портал не принимает. Разделите реестр на части "
        "(например, по школам) и загрузите их по очереди.",
        limit=megabytes(upload_limit()),
    )


def clean_name(filename: str) -> str:
    """The name the browser sent, as a name only (no folders, no control characters)."""
    name = PurePosixPath(PureWindowsPath(filename or "").name).name
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[-200:] or "реестр"  # i18n-exempt: a file's name, kept with the job


# --- the upload --------------------------------------------------------------------------------


def upload(tenant: str, by_id: int, stream: BinaryIO, filename: str, *, replace: bool) -> int:
    """Keep the uploaded file as a new job of the region, queued for checking; its id.
    Busy when the region runs an import; Refused for a file that is not .jsonl/.csv, empty
    or over the limit (nothing is kept then)."""
    name = clean_name(filename)
    fmt = registry.format_of(name)
    if fmt is None:
        raise Refused(_("Выберите файл реестра в формате .jsonl или .csv."))
    job_id = registry.begin(
        tenant, source=name, fmt=fmt, state=registry.UPLOADING, by_id=by_id, replace=replace
    )
    try:
        size, lines = _store(job_id, stream, upload_limit())
        if size == 0:
            raise Refused(_("Файл пустой: в нём нет ни одной строки."))
    except BaseException:
        db.session.rollback()
        _forget(job_id)
        raise
    db.session.execute(
        update(JOB)
        .where(JOB.c.id == job_id)
        .values(state=registry.CHECKING, size=size, lines_total=lines, heartbeat_at=utcnow())
    )
    audit.record(
        "registry_import_uploaded",
        tenant=tenant,
        actor_id=by_id,
        commit=False,
        job=job_id,
        source=name,
    )
    db.session.commit()
    return job_id


def _store(job_id: int, stream: BinaryIO, limit: int) -> tuple[int, int]:
    """Copy the upload into the job's chunks; (bytes, lines)."""
    seq = size = newlines = 0
    last = b"\n"
    while data := stream.read(CHUNK_BYTES):
        size += len(data)
        if size > limit:
            raise TooLarge(too_large())
        newlines, last = newlines + data.count(b"\n"), data[-1:]
        db.session.execute(insert(CHUNK).values(job_id=job_id, seq=seq, data=data))
        db.session.execute(update(JOB).where(JOB.c.id == job_id).values(heartbeat_at=utcnow()))
        db.session.commit()
        seq += 1
    return size, newlines + (size > 0 and last != b"\n")


def _forget(job_id: int) -> None:
    """An upload that never became a job: its chunks and its row gone, the lock released."""
    db.session.execute(delete(CHUNK).where(CHUNK.c.job_id == job_id))
    db.session.execute(delete(JOB).where(JOB.c.id == job_id))
    db.session.commit()


class _Chunks(io.RawIOBase):
    """The job's file, read back a chunk at a time."""

    def __init__(self, job_id: int):
        self.job_id, self.seq = job_id, 0
        self.data, self.offset, self.done = memoryview(b""), 0, False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.offset >= len(self.data) and not self.done:
            data = db.session.scalar(
                select(CHUNK.c.data).where(CHUNK.c.job_id == self.job_id, CHUNK.c.seq == self.seq)
            )
            if data is None:
                self.done = True
            else:
                self.data, self.offset, self.seq = memoryview(bytes(data)), 0, self.seq + 1
        count = min(len(buffer), len(self.data) - self.offset)
        buffer[:count] = self.data[self.offset : self.offset + count]
        self.offset += count
        return count


def file_text(job_id: int) -> TextIO:
    raw = io.BufferedReader(_Chunks(job_id), 1 << 16)
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


# --- what administrators do with a job -----------------------------------------------------------


def job_of(tenant: str, job_id: int) -> RegistryImport | None:
    """The region's job (None for another region's)."""
    job = db.session.get(RegistryImport, job_id)
    return job if job is not None and job.tenant == tenant else None


def recent(tenant: str, limit: int = 20) -> list[RegistryImport]:
    return list(
        db.session.scalars(
            select(RegistryImport)
            .filter_by(tenant=tenant)
            .order_by(RegistryImport.id.desc())
            .limit(limit)
        )
    )


def request_apply(tenant: str, job_id: int, by_id: int) -> None:
    """Queue a checked job to be applied. Busy when the region runs an import (whoever
    pressed first wins: the region's lock is a unique column); NotReady when the job is not
    waiting to be applied (pressed twice, say); Refused when it has nothing to apply."""
    registry.reap(tenant)
    job = job_of(tenant, job_id)
    if job is None or job.state != registry.CHECKED:
        raise NotReady(job_id)
    if not sum(job.records.values()):
        raise Refused(_("В файле нет ни одной верной записи: применять нечего."))
    now = utcnow()
    try:
        taken = db.session.execute(
            update(JOB)
            .where(JOB.c.id == job_id, JOB.c.state == registry.CHECKED)
            .values(
                state=registry.APPLYING,
                running_tenant=tenant,
                applied_by_id=by_id,
                applied_at=now,
                heartbeat_at=now,
                worker=None,
                lines_done=0,
                step="",
            )
        )
        if taken.rowcount != 1:
            db.session.rollback()
            raise NotReady(job_id)
        audit.record(
            "registry_import_started",
            tenant=tenant,
            actor_id=by_id,
            commit=False,
            job=job_id,
            source=job.source,
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Busy(registry.running_import(tenant)) from None


def discard(tenant: str, job_id: int, by_id: int) -> bool:
    if job_of(tenant, job_id) is None:
        return False
    return registry.discard(job_id, by_id=by_id, reason="by_admin")


def problems(job_id: int, page: int) -> list[RegistryImportProblem]:
    """A page of the job's problems, by line."""
    return list(
        db.session.scalars(
            select(RegistryImportProblem)
            .filter_by(job_id=job_id)
            .order_by(RegistryImportProblem.line, RegistryImportProblem.id)
            .offset((page - 1) * PROBLEMS_PER_PAGE)
            .limit(PROBLEMS_PER_PAGE)
        )
    )


def stored_problems(job_id: int) -> int:
    return staging.stored_problems(job_id)


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return min(100, self.done * 100 // self.total) if self.total else 0


def progress_of(job: RegistryImport) -> Progress:
    total = max(job.lines_total, job.lines_done)
    done = total if job.step in ("references", "writing") else job.lines_done
    return Progress(done, total)


# --- the workers -----------------------------------------------------------------------------


def start_worker(app: Flask) -> None:
    """Start this process's worker thread unless it runs (or jobs are left to the CLI)."""
    if app.config.get("REGISTRY_IMPORT_WORKER", "thread") != "thread":
        return
    with _START:
        thread = app.extensions.get("registry_import_worker")
        if thread is not None and thread.is_alive():
            return
        thread = threading.Thread(target=_thread, args=(app,), name="registry-import", daemon=True)
        app.extensions["registry_import_worker"] = thread
        thread.start()


def _thread(app: Flask) -> None:
    with app.app_context():
        try:
            work()
        except Exception:
            log.exception("registry import worker stopped")
        finally:
            db.session.remove()


def claim(worker: str) -> int | None:
    """Take the oldest queued job, if any (one worker wins each job)."""
    waiting = select(JOB.c.id).where(JOB.c.state.in_(registry.QUEUED), JOB.c.worker.is_(None))
    for job_id in db.session.scalars(waiting.order_by(JOB.c.id).limit(10)).all():
        taken = db.session.execute(
            update(JOB)
            .where(JOB.c.id == job_id, JOB.c.worker.is_(None), JOB.c.state.in_(registry.QUEUED))
            .values(worker=worker, heartbeat_at=utcnow())
        )
        db.session.commit()
        if taken.rowcount == 1:
            return job_id
    return None


def run(job_id: int, worker: str) -> None:
    """Check, or apply, a job this worker has claimed; a failure ends it as failed."""
    job = db.session.get(RegistryImport, job_id)
    phase, tenant, fmt = job.state, job.tenant, job.fmt
    try:
        reading = registry.stage(job_id, registry.iter_lines(file_text(job_id), fmt), worker=worker)
        registry.check(job_id, tenant, worker, reading)
        if phase == registry.CHECKING:
            registry.checked(job_id, worker)
        else:
            registry.apply(job_id, worker)
            registry.cleanup(job_id)
    except JobLost:
        db.session.rollback()
        log.warning("registry import %s was taken from worker %s", job_id, worker)
    except Exception as error:
        db.session.rollback()
        log.exception("registry import %s failed", job_id)
        registry.fail(job_id, failure="error", error=error, worker=worker)


def work(
    *,
    wait: bool = False,
    poll: float = 2.0,
    on_job: Callable[[int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Run queued jobs until none is left (or, with ``wait``, until ``stop()``); the number
    run."""
    ran = 0
    while True:
        registry.reap()
        job_id = claim(registry.worker_name())
        if job_id is None:
            if not wait or (stop is not None and stop()):
                return ran
            time.sleep(poll)
            continue
        run(job_id, registry.worker_name())
        ran += 1
        if on_job is not None:
            on_job(job_id)
