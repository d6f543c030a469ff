"""Trusted persons («Доверенные лица»): a parent lets a registered person read a child's diary.

A grant is one invitation from a parent to one invitee for one or more children. Its life:
sent → declined, expired (unanswered at ``expires_at``), or accepted (active from
``active_from``, after the region's activation delay) → revoked by a parent of the children or
left by the trusted person. A parent linked to only some of its children revokes it for those
(each child's row ends); when no child is left, the grant is revoked. Access is also checked
against the inviting parent's own link to each child on every request, so it ends with that
link.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, utcnow
from .registry import Person

SENT, DECLINED, ACCEPTED, REVOKED, LEFT = "sent", "declined", "accepted", "revoked", "left"


class TrustedGrant(Base):
    __tablename__ = "trusted_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    # The wizard run that made it: a second «Отправить» of the same run finds this grant.
    request_key: Mapped[str] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(32), default="diary")
    parent_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    invitee_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=SENT)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    active_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Fixed when sent, from the region's ``invitation_days`` then: a later change of the
    # setting neither revives nor shortens an invitation already sent.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    parent: Mapped[User] = relationship(foreign_keys=[parent_id])
    invitee: Mapped[User] = relationship(foreign_keys=[invitee_id])
    children: Mapped[list[TrustedGrantChild]] = relationship(
        back_populates="grant", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("tenant", "parent_id", "request_key"),
        Index("ix_trusted_grant_parent", "parent_id", "status"),
    )


class TrustedGrantChild(Base):
    __tablename__ = "trusted_grant_child"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("trusted_grant.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    # Revoked for this child by one of the child's parents (who, when).
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    grant: Mapped[TrustedGrant] = relationship(back_populates="children")
    student: Mapped[Person] = relationship()
    ended_by: Mapped[User | None] = relationship()

    __table_args__ = (UniqueConstraint("grant_id", "student_id"),)
