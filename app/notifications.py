"""The notification centre's reads: a user's items and their unread count."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import joinedload

from app.database import Prepared
from app.extensions import db
from app.models import Notification, User

# What app.trusted tells people besides the invitation itself (templates/trusted/_notice.html
# words them): a child's other parents that an invitation was sent for the child; the trusted
# person that a parent revoked their access; the child's other parents (the inviting one among
# them) that it was revoked.
TRUSTED_SHARED = "trusted_shared"
TRUSTED_REVOKED = "trusted_revoked"
TRUSTED_REVOKED_FOR_CHILD = "trusted_revoked_for_child"


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


# The badge's COUNT, prepared once (app.database.Prepared): every signed-in page runs it.
# What ``_mine`` says, with a person id of NULL matching nothing.
_UNREAD = Prepared((lambda t: select(func.count(t.c.id)).where(
    t.c.tenant == bindparam("tenant"),
    or_(t.c.recipient_user_id == bindparam("user"), t.c.recipient_id == bindparam("person")),
    t.c.read_at.is_(None),
    t.c.resolved_at.is_(None),
))(Notification.__table__))  # fmt: skip


def unread_count(user: User) -> int:
    """The badge on every signed-in page: one COUNT over the user's open items."""
    params = {"tenant": user.tenant, "user": user.id, "person": user.person_id}
    return _UNREAD.scalar(params) or 0


def owned_item(user: User, item_id: int) -> Notification | None:
    """The item, if it is this user's: anyone else's is as good as absent."""
    return db.session.scalar(_mine(user).where(Notification.id == item_id))


def mark_read(item: Notification) -> None:
    item.read_at = item.read_at or datetime.now(UTC)
    db.session.commit()
