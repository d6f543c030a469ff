"""Requests a person sends to a school, and the school administrator's answer.

A join request (P7): a student whom no school has enrolled yet asks a school to take them.
A mismatch report (P3): a person whose data differ from the school's record says which field
differs and, if they choose, what Госуслуги holds for it. Both carry only what the person
chose to send; neither ever shows the person the school's stored values.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.sealing import Sealed

from .accounts import User
from .base import Base, utcnow
from .registry import Person, School

PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class _Request:
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The school's answer, shown to the person (a rejection always has one).
    reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def pending(self) -> bool:
        return self.status == PENDING


class JoinRequest(_Request, Base):
    __tablename__ = "join_request"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    class_name: Mapped[str] = mapped_column(String(16), default="")
    # What the student sent from their Госуслуги account: ФИО, birth date, СНИЛС, e-mail;
    # sealed at rest (app/sealing.py).
    applicant: Mapped[dict] = mapped_column(Sealed, default=dict)
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The registry record made on approval.
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="SET NULL"))
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    school: Mapped[School] = relationship()

    __table_args__ = (Index("ix_join_request_school", "school_id", "status"),)


class MismatchReport(_Request, Base):
    __tablename__ = "mismatch_report"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    # The school's record that differs in one field; never shown to the person.
    record_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"))
    field: Mapped[str] = mapped_column(String(16))
    # Only what the person ticked: {"snils": "…"}; empty if they sent nothing but the field.
    # Sealed at rest (app/sealing.py).
    sent: Mapped[dict] = mapped_column(Sealed, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    school: Mapped[School] = relationship()
    record: Mapped[Person] = relationship()

    __table_args__ = (Index("ix_mismatch_report_school", "school_id", "status"),)
