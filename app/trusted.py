"""Trusted persons («Доверенные лица»): the rules, without HTTP.

A parent invites a person registered in the region — found by mobile phone or СНИЛС *and*
surname, which must point at exactly one account — to read chosen children's diaries. The
invitee accepts or declines in the notification centre; accepted access starts after the
region's activation delay, is read-only, and ends when the parent revokes it, the trusted
person leaves it, or the parent's own link to the child ends. Every step is audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from app import audit
from app.accounts import contact_key
from app.extensions import db
from app.identity.types import normalize_name
from app.models import Guardianship, Notification, TrustedGrant, TrustedGrantChild, User
from app.models.trusted import ACCEPTED, DECLINED, LEFT, REVOKED, SENT
from app.tenants import Tenant
from app.wording import local_time

if TYPE_CHECKING:
    from app.diary import Student

SERVICES = {"diary": "Электронный дневник"}
INVITATION = "trusted_invitation"
STATE_LABELS = {
    "sent": "отправлено",
    "declined": "отклонено",
    "waiting": "ожидает активации",
    "active": "активно",
    "revoked": "отозвано",
    "left": "прекращено",
}


def now() -> datetime:
    """The clock every rule here reads (tests move it to see an activation delay pass)."""
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite gives back naive datetimes; every stored one is UTC."""
    return moment.replace(tzinfo=UTC) if moment and moment.tzinfo is None else moment


def delay_hours(tenant: Tenant) -> int:
    """The region's activation delay, unless the deployment overrides it (the demo: zero)."""
    override = current_app.config.get("TRUSTED_ACTIVATION_DELAY_HOURS")
    return tenant.policy.trusted_persons.activation_delay_hours if override is None else override


def activation_delay(tenant: Tenant) -> timedelta:
    return timedelta(hours=delay_hours(tenant))


def activation_phrase(tenant: Tenant) -> str:
    """The seeds' sentence (003), with the region's own delay."""
    hours = delay_hours(tenant)
    when = {0: "сразу", 24: "в течение суток"}.get(hours, f"в течение {hours} ч")
    return (
        "После принятия приглашения доступ к электронному дневнику для доверенного лица "
        f"будет обеспечен {when}."
    )


def state_of(grant: TrustedGrant, at: datetime | None = None) -> str:
    if grant.status != ACCEPTED:
        return grant.status
    return "active" if _aware(grant.active_from) <= (at or now()) else "waiting"


# --- finding the invitee ----------------------------------------------------------------------


def find_invitee(tenant: Tenant, by: str, contact: str, surname: str) -> User | None:
    """The one account in the region with this phone (or СНИЛС) and surname, or None —
    also when several match: the parent must name one person."""
    key = contact_key(by, contact)
    surname_key = normalize_name(surname)
    if key is None or not surname_key:
        return None
    column = User.phone_key if by == "phone" else User.snils_key
    found = db.session.scalars(
        select(User)
        .where(User.tenant == tenant.slug, column == key, User.surname_key == surname_key,
               User.disabled.is_(False))
        .limit(2)
    ).all()  # fmt: skip
    return found[0] if len(found) == 1 else None


# --- the parent's side ------------------------------------------------------------------------


class InviteRefused(ValueError):
    pass


def invite(
    tenant: Tenant, parent: User, invitee: User, children: Iterable[Student], request_key: str
) -> TrustedGrant:
    """Send the invitation, once per wizard run (``request_key``): a second «Отправить»,
    or the same form in two tabs, finds the first invitation. ``children``: the parent's,
    as the registry links them now (``app.diary.people.linked_children``)."""
    existing = _by_key(tenant, parent, request_key)
    if existing is not None:
        return existing
    children = list(children)
    if invitee.id == parent.id or not children:
        raise InviteRefused(invitee.id)
    grant = TrustedGrant(
        tenant=tenant.slug,
        request_key=request_key,
        parent_id=parent.id,
        invitee_id=invitee.id,
        status=SENT,
        children=[TrustedGrantChild(student_id=c.id) for c in children],
    )
    db.session.add(grant)
    try:
        db.session.flush()
    except IntegrityError:  # the same run, sent at the same moment by another request
        db.session.rollback()
        return _by_key(tenant, parent, request_key)
    db.session.add(Notification(
        tenant=tenant.slug, recipient_user_id=invitee.id, kind=INVITATION,
        payload={"grant_id": grant.id, "parent": parent.display_name,
                 "children": [c.full_name for c in children], "service": SERVICES["diary"]},
    ))  # fmt: skip
    audit.record("trusted_invited", actor_id=parent.id, commit=False, grant_id=grant.id,
                 invitee_id=invitee.id, children=[c.id for c in children])  # fmt: skip
    db.session.commit()
    return grant


def _by_key(tenant: Tenant, parent: User, request_key: str) -> TrustedGrant | None:
    return db.session.scalar(
        select(TrustedGrant).filter_by(tenant=tenant.slug, parent_id=parent.id,
                                       request_key=request_key)
    )  # fmt: skip


def revoke(parent: User, grant_id: int) -> TrustedGrant:
    """The parent ends a grant (or withdraws an invitation) at once."""
    grant = _grant(parent, grant_id, TrustedGrant.parent_id)
    if grant.status not in (SENT, ACCEPTED):
        raise LookupError(grant_id)
    return _end(grant, REVOKED, parent, "trusted_revoked")


# --- the invitee's side -----------------------------------------------------------------------


def answer(tenant: Tenant, invitee: User, grant_id: int, *, accept: bool) -> TrustedGrant:
    """Only the invitee answers, and only once. LookupError for anyone else's invitation."""
    grant = _grant(invitee, grant_id, TrustedGrant.invitee_id)
    if grant.status != SENT:
        raise InviteRefused(grant_id)
    moment = now()
    grant.answered_at = moment
    if accept:
        grant.status, grant.active_from = ACCEPTED, moment + activation_delay(tenant)
    else:
        grant.status = DECLINED
    for item in db.session.scalars(
        select(Notification).filter_by(kind=INVITATION, recipient_user_id=invitee.id)
    ):
        if item.payload.get("grant_id") == grant.id:
            item.resolved_at = moment
    audit.record("trusted_accepted" if accept else "trusted_declined", actor_id=invitee.id,
                 commit=False, grant_id=grant.id)  # fmt: skip
    db.session.commit()
    return grant


def leave(invitee: User, grant_id: int) -> TrustedGrant:
    grant = _grant(invitee, grant_id, TrustedGrant.invitee_id)
    if grant.status != ACCEPTED:
        raise LookupError(grant_id)
    return _end(grant, LEFT, invitee, "trusted_left")


def _grant(user: User, grant_id: int, column) -> TrustedGrant:
    grant = db.session.scalar(
        select(TrustedGrant).where(TrustedGrant.id == grant_id,
                                   TrustedGrant.tenant == user.tenant, column == user.id)
    )  # fmt: skip
    if grant is None:
        raise LookupError(grant_id)
    return grant


def _end(grant: TrustedGrant, status: str, actor: User, kind: str) -> TrustedGrant:
    grant.status, grant.ended_at = status, now()
    audit.record(kind, actor_id=actor.id, commit=False, grant_id=grant.id)
    db.session.commit()
    return grant


# --- what each side sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    grant: TrustedGrant
    state: str
    children: list[str]

    @property
    def label(self) -> str:
        return STATE_LABELS[self.state]


def _rows(column, user: User) -> list[GrantRow]:
    grants = db.session.scalars(
        select(TrustedGrant)
        .where(column == user.id, TrustedGrant.tenant == user.tenant)
        .options(selectinload(TrustedGrant.children).selectinload(TrustedGrantChild.student),
                 selectinload(TrustedGrant.parent), selectinload(TrustedGrant.invitee))
        .order_by(TrustedGrant.created_at.desc())
    ).all()  # fmt: skip
    moment = now()
    return [
        GrantRow(grant, state_of(grant, moment), [c.student.full_name for c in grant.children])
        for grant in grants
    ]


def given_by(parent: User) -> list[GrantRow]:
    return _rows(TrustedGrant.parent_id, parent)


def received_by(invitee: User) -> list[GrantRow]:
    return _rows(TrustedGrant.invitee_id, invitee)


def _zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.config.timezone)


def no_access_reason(tenant: Tenant, invitee: User, child_id: int | None = None) -> str | None:
    """Why a trusted person reads no diary (of ``child_id``, or at all) now, in words, from
    their latest invitation that named the child (or any); None when they never had one."""
    rows = received_by(invitee)
    if child_id is not None:
        rows = [row for row in rows if any(c.student_id == child_id for c in row.grant.children)]
    if not rows:
        return None
    row, grant = rows[0], rows[0].grant
    parent = grant.parent.display_name
    if row.state == "sent":
        return (f"Приглашение от родителя ({parent}) ждёт вашего ответа в разделе «Уведомления». "
                f"{activation_phrase(tenant)}")  # fmt: skip
    if row.state == "waiting":
        opens = local_time(grant.active_from, _zone(tenant))
        return f"Вы приняли приглашение. {activation_phrase(tenant)} Доступ откроется {opens}."
    if row.state == "revoked":
        return (f"Доступ к дневнику отозван родителем ({parent}) "
                f"{local_time(grant.ended_at, _zone(tenant))}.")  # fmt: skip
    if row.state == "left":
        return f"Вы отказались от доступа к дневнику {local_time(grant.ended_at, _zone(tenant))}."
    if row.state == "declined":
        return f"Вы отклонили приглашение родителя ({parent})."
    # Accepted and active, yet not readable: the school no longer links the child to the parent.
    return (f"Школа больше не связывает ребёнка с родителем ({parent}), который вас пригласил, "
            "поэтому доступ к дневнику закрыт.")  # fmt: skip


def readable_children_clause(user: User, at: datetime):
    """SQL: the children this user may read as a trusted person right now — accepted, past
    the activation delay, not ended, and still linked to the inviting parent."""
    parent = aliased(User)
    return (
        select(TrustedGrantChild.student_id)
        .join(TrustedGrant, TrustedGrant.id == TrustedGrantChild.grant_id)
        .join(parent, parent.id == TrustedGrant.parent_id)
        .join(Guardianship, and_(Guardianship.guardian_id == parent.person_id,
                                 Guardianship.student_id == TrustedGrantChild.student_id))
        .where(TrustedGrant.invitee_id == user.id, TrustedGrant.tenant == user.tenant,
               TrustedGrant.status == ACCEPTED, TrustedGrant.active_from <= at)
    )  # fmt: skip
