"""Audit events: who did what, where and when, kept for the region's operator and auditor.

Rows never hold passwords, tokens or a full СНИЛС: :func:`app.audit.record` cleans the
detail before it reaches this table. An event about someone else names them in its own
columns (an account, a school registry record), so that a person's events are found by an
index, as the actor or as the subject.
"""

from datetime import datetime

from sqlalchemy import JSON, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # None on the apex host, which belongs to no region.
    tenant: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None]
    # Whom the event is about: an account, and (or) a record of the school registry. No
    # foreign keys: the trail outlives both (erasure clears the account's id here).
    subject_id: Mapped[int | None]
    subject_person_id: Mapped[int | None]
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    # The log is read newest first, by (created_at, id), within a region and by kind or
    # person: one index per filter, each ending in the order it is read in.
    __table_args__ = (
        Index("ix_audit_event_tenant_created_id", "tenant", "created_at", "id"),
        Index("ix_audit_event_tenant_kind_created", "tenant", "kind", "created_at"),
        Index("ix_audit_event_tenant_actor_created", "tenant", "actor_id", "created_at"),
        Index("ix_audit_event_tenant_subject_created", "tenant", "subject_id", "created_at"),
        Index("ix_audit_event_tenant_person_created", "tenant", "subject_person_id", "created_at"),
    )


class AuditSpoolBatch(Base):
    """A batch of the audit spool (app/audit_spool.py) whose rows are in ``audit_event``: its
    row is written in their transaction, so that a drain stopped between that commit and the
    batch file's removal never inserts them twice. Deleted with the file."""

    __tablename__ = "audit_spool_batch"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    rows: Mapped[int]
    drained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
