"""Accounts, consents and notifications: what the portal itself knows about people.

A user is keyed by (tenant, issuer, subject): the same subject from another provider, or in
another region, is another user.
"""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .registry import Person


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    issuer: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(310))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(default=False)
    # How a parent finds this person to invite them as a trusted person: keyed hashes of the
    # mobile phone and СНИЛС the provider gave at the last login (never the values), and the
    # normalised surname. See app.accounts.contact_key.
    phone_key: Mapped[str | None] = mapped_column(String(64))
    snils_key: Mapped[str | None] = mapped_column(String(64))
    surname_key: Mapped[str] = mapped_column(String(100), default="")
    person: Mapped[Person | None] = relationship()

    __table_args__ = (
        UniqueConstraint("tenant", "issuer", "subject"),
        Index("ix_user_account_phone_key", "tenant", "phone_key"),
        Index("ix_user_account_snils_key", "tenant", "snils_key"),
    )

    @property
    def is_active(self) -> bool:
        return not self.disabled


class RegionalAdmin(Base):
    """A region's administrator: appointed with ``flask admin grant``, never self-service."""

    __tablename__ = "regional_admin"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("tenant", "user_id"),)


class Consent(Base):
    """Consent to processing: one's own (``own``), or a guardian's for a student (``parental``)."""

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    # parental: the student's registry record; own: None.
    student_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        UniqueConstraint("kind", "user_id", "student_id"),
        # NULLs are distinct in a unique constraint: one own consent per person needs its own
        # index over the rows without a student.
        Index(
            "uq_consent_kind_user_no_student",
            "kind",
            "user_id",
            unique=True,
            sqlite_where=text("student_id IS NULL"),
            postgresql_where=text("student_id IS NULL"),
        ),
        Index("ix_consent_student", "student_id"),
    )


class Notification(Base):
    """An item in a person's notification centre, addressed to their registry record so that
    it waits for a parent who has never logged in."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    # A registry record (waits for a parent who has never logged in), or, for people the
    # registry does not know yet (a student asking to join a school), their account.
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    recipient_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(40))
    # The person the item is about (the student whose consent is asked).
    about_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    about: Mapped[Person | None] = relationship(foreign_keys=[about_id])

    __table_args__ = (
        UniqueConstraint("kind", "recipient_id", "about_id"),
        Index("ix_notification_recipient", "recipient_id", "resolved_at"),
    )


class StructuralRole(Base):
    """A role the person has held in the diary («структурная роль»), with its status.

    Kept in step with the access decision at every login: a role the registry no longer
    gives is «Прекращена». Only an ended role can be deleted, and never the last one.
    """

    __tablename__ = "structural_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    @property
    def active(self) -> bool:
        return self.ended_at is None


class PasswordCredential(Base):
    """A school-issued login and password for a student without a Госуслуги account."""

    __tablename__ = "password_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    login: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    password_hash: Mapped[str] = mapped_column(String(200))
    # A password the school issued must be replaced at first login (ASVS 6.4.1).
    must_change: Mapped[bool] = mapped_column(default=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    issued_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    person: Mapped[Person] = relationship()

    __table_args__ = (UniqueConstraint("tenant", "login"), UniqueConstraint("person_id"))
