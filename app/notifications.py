"""The notification centre's reads: a user's items and their unread count."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import Notification, User


def _mine(user: User, query=None):
    """Items addressed to the user's registry record, or to the account itself."""
    addressed = Notification.recipient_user_id == user.id
    if user.person_id is not None:
        addressed = or_(addressed, Notification.recipient_id == user.person_id)
    query = select(Notification) if query is None else query
    return query.where(Notification.tenant == user.tenant, addressed)


def for_user(user: User) -> list[Notification]:
    query = _mine(user).options(joinedload(Notification.about))
    return list(db.session.scalars(query.order_by(Notification.created_at.desc())))


def unread_count(user: User) -> int:
    """The badge on every signed-in page: one COUNT over the user's open items."""
    query = _mine(user, select(func.count(Notification.id)))
    open_items = query.where(Notification.read_at.is_(None), Notification.resolved_at.is_(None))
    return db.session.scalar(open_items) or 0


def owned_item(user: User, item_id: int) -> Notification | None:
    """The item, if it is this user's: anyone else's is as good as absent."""
    return db.session.scalar(_mine(user).where(Notification.id == item_id))


def mark_read(item: Notification) -> None:
    item.read_at = item.read_at or datetime.now(UTC)
    db.session.commit()
