"""Registry imports: a region's school registry file on its way in, as a job a worker takes.

A job is a file uploaded by a regional administrator (or read by ``flask registry import``),
checked line by line, then applied. Its file waits in the database in chunks (so any worker
of any instance can read it, and nothing of it is ever under the static folder) and is
deleted when the job ends. While a job is read or applied, its records wait in a staging
table; the registry itself changes only in the one transaction that applies them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, utcnow


class RegistryImport(Base):
    __tablename__ = "registry_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32), index=True)
    # The file's name as it was uploaded (shown to people, never used as a path).
    source: Mapped[str] = mapped_column(String(200))
    fmt: Mapped[str] = mapped_column(String(8))
    # The file is the complete export of the schools it lists: their links it leaves out
    # are removed (docs/registry-import.md).
    replace: Mapped[bool] = mapped_column(default=False)
    # uploading → checking → checked → applying → done; or failed, or discarded.
    state: Mapped[str] = mapped_column(String(16))
    # The region while the job is uploaded, checked or applied, NULL otherwise. Unique: a
    # region runs one import at a time, however many administrators press at once.
    running_tenant: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    applied_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who works on it now (host:pid:thread), and when it last said it was alive.
    worker: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Progress: the step (reading, references, writing) and the lines read of the file's.
    step: Mapped[str] = mapped_column(String(16), default="")
    size: Mapped[int] = mapped_column(default=0)
    lines_total: Mapped[int] = mapped_column(default=0)
    lines_done: Mapped[int] = mapped_column(default=0)
    # What the last reading found: valid records by type, problems, lines skipped.
    records: Mapped[dict] = mapped_column(JSON, default=dict)
    problem_count: Mapped[int] = mapped_column(default=0)
    skipped_lines: Mapped[int] = mapped_column(default=0)
    # Applied: {"person": {"added": …, "changed": …, "removed": …}, …}.
    summary: Mapped[dict | None] = mapped_column(JSON)
    # Why it failed (a code: worker_lost, error, problems, expired) and the technical words.
    failure: Mapped[str] = mapped_column(String(32), default="")
    error: Mapped[str] = mapped_column(Text, default="")

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    applied_by: Mapped[User | None] = relationship(foreign_keys=[applied_by_id])


class RegistryImportChunk(Base):
    """The uploaded file, a piece at a time, in order; deleted when the job ends."""

    __tablename__ = "registry_import_chunk"

    job_id: Mapped[int] = mapped_column(
        ForeignKey("registry_import.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RegistryImportProblem(Base):
    """A problem of one line: the file's field, and what is wrong: ``message`` holds its code
    and values (JSON, ``staging.said``), put into words in the reader's language when the
    report is shown (``registry.problem_words``; a report kept from before holds Russian
    words, shown as they are); ``english`` is the command line's."""

    __tablename__ = "registry_import_problem"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("registry_import.id", ondelete="CASCADE"))
    line: Mapped[int]
    field: Mapped[str] = mapped_column(String(64), default="")
    message: Mapped[str] = mapped_column(String(300))
    english: Mapped[str] = mapped_column(String(300))

    __table_args__ = (Index("ix_registry_import_problem_job_line", "job_id", "line", "id"),)


class RegistryImportRow(Base):
    """A record of the file, staged: its kind, its natural key in the file's own keys
    (``k1``–``k3``), and the values a school or a person carries. One row per key: a key
    given twice is one record (the later line's values win)."""

    __tablename__ = "registry_import_row"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("registry_import.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    line: Mapped[int]
    k1: Mapped[str] = mapped_column(String(64))
    k2: Mapped[str] = mapped_column(String(64), default="")
    k3: Mapped[str] = mapped_column(String(64), default="")
    # Its line has a problem: reported, and left out of the registry.
    skipped: Mapped[bool] = mapped_column(default=False)
    full_name: Mapped[str | None] = mapped_column(String(400))
    short_name: Mapped[str | None] = mapped_column(String(120))
    search_key: Mapped[str | None] = mapped_column(String(400))
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    middle_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    snils: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(15))
    name_key: Mapped[str | None] = mapped_column(String(310))

    __table_args__ = (
        UniqueConstraint("job_id", "kind", "k1", "k2", "k3"),
        Index("ix_registry_import_row_job_line", "job_id", "line"),
    )
