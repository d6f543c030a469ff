"""The notification centre's reads: a user's items and their unread count."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Notification, User


def _mine(user: User):
    return select(Notification).where(
        Notification.tenant == user.tenant, Notification.recipient_id == user.person_id
    )


def for_user(user: User) -> list[Notification]:
    if user.person_id is None:
        return []
    query = _mine(user).options(joinedload(Notification.about))
    return list(db.session.scalars(query.order_by(Notification.created_at.desc())))


def unread_count(user: User) -> int:
    if user.person_id is None:
        return 0
    query = _mine(user).where(Notification.read_at.is_(None), Notification.resolved_at.is_(None))
    return db.session.scalar(select(func.count()).select_from(query.subquery())) or 0


def owned_item(user: User, item_id: int) -> Notification | None:
    """The item, if it is this user's: anyone else's is as good as absent."""
    if user.person_id is None:
        return None
    return db.session.scalar(_mine(user).where(Notification.id == item_id))


def mark_read(item: Notification) -> None:
    item.read_at = item.read_at or datetime.now(UTC)
    db.session.commit()
