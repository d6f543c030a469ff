"""Trusted persons («Доверенные лица»): the rules, without HTTP.

A parent invites a person registered in the region — found by mobile phone or СНИЛС *and*
surname, which must point at exactly one account — to read chosen children's diaries. The
invitee accepts or declines in the notification centre before the invitation expires (the
region's ``invitation_days`` after it was sent, fixed then); accepted access starts after the
region's activation delay, is read-only, and ends when a parent of the child revokes it, the
trusted person leaves it, or the inviting parent's own link to the child ends.

Every parent the registry links to a child now sees, and may revoke, whatever any of the
child's parents made for that child, and hears of it; a parent whose link ended sees nothing
more of it. Every step is audited.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from app import audit
from app.accounts import contact_key
from app.extensions import db
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import ngettext
from app.identity.types import normalize_name
from app.models import Guardianship, Notification, TrustedGrant, TrustedGrantChild, User
from app.models.trusted import ACCEPTED, DECLINED, LEFT, REVOKED, SENT
from app.notifications import TRUSTED_REVOKED, TRUSTED_REVOKED_FOR_CHILD, TRUSTED_SHARED
from app.tenants import Tenant
from app.wording import local_time

if TYPE_CHECKING:
    from app.diary import Student

SERVICES = {"diary": _l("Электронный дневник")}
# An invitation's notification keeps the service's name as its message id, the Russian words,
# and is worded in the reader's language when shown.
SERVICE_IDS = {"diary": "Электронный дневник"}  # i18n-exempt: message ids kept in payloads
INVITATION = "trusted_invitation"
STATE_LABELS = {
    "sent": _l("отправлено"),
    "expired": _l("истекло"),
    "declined": _l("отклонено"),
    "waiting": _l("ожидает активации"),
    "active": _l("активно"),
    "revoked": _l("отозвано"),
    "left": _l("прекращено"),
    # A parent's list only: the inviting parent is no longer linked to the child.
    "unlinked": _l("прекращено"),
}
# What a parent of the child may still revoke (an ``unlinked`` grant would open again if the
# school linked the inviting parent once more).
REVOCABLE = ("sent", "waiting", "active", "unlinked")


def now() -> datetime:
    """The clock every rule here reads (tests move it to see a delay or an expiry pass)."""
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


def invitation_lifetime(tenant: Tenant) -> timedelta:
    return timedelta(days=tenant.policy.trusted_persons.invitation_days)


def invitation_phrase(tenant: Tenant) -> str:
    """What the parent is told before sending: how long the invitation waits for an answer."""
    days = tenant.policy.trusted_persons.invitation_days
    return ngettext(
        "Принять приглашение можно в течение %(num)d дня; если доверенное лицо не успеет, "
        "приглашение истечёт и его можно будет отправить снова.",
        "Принять приглашение можно в течение %(num)d дней; если доверенное лицо не успеет, "
        "приглашение истечёт и его можно будет отправить снова.",
        days,
    )


def activation_phrase(tenant: Tenant) -> str:
    """The seeds' sentence (003), with the region's own delay."""
    hours = delay_hours(tenant)
    if hours == 0:
        return _(
            "После принятия приглашения доступ к электронному дневнику для доверенного лица "
            "будет обеспечен сразу."
        )
    if hours == 24:
        return _(
            "После принятия приглашения доступ к электронному дневнику для доверенного лица "
            "будет обеспечен в течение суток."
        )
    return ngettext(
        "После принятия приглашения доступ к электронному дневнику для доверенного лица "
        "будет обеспечен в течение %(num)d ч.",
        "После принятия приглашения доступ к электронному дневнику для доверенного лица "
        "будет обеспечен в течение %(num)d ч.",
        hours,
    )


def _state(grant: TrustedGrant, live: list[TrustedGrantChild], at: datetime) -> str:
    """``live``: the grant's children, of those in view, that no parent revoked."""
    if grant.status in (DECLINED, REVOKED, LEFT):
        return grant.status
    if not live:
        return "revoked"
    if grant.status == SENT:
        return "expired" if _aware(grant.expires_at) <= at else "sent"
    return "active" if _aware(grant.active_from) <= at else "waiting"


def state_of(grant: TrustedGrant, at: datetime | None = None) -> str:
    live = [child for child in grant.children if child.ended_at is None]
    return _state(grant, live, at or now())


def _zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.config.timezone)


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


# --- who is a parent of which child, now --------------------------------------------------------


def _links(student_ids: Iterable[int]) -> set[tuple[int, int]]:
    """(guardian's registry record, child) for every parent the registry links to these
    children now: one query."""
    ids = list(set(student_ids))
    if not ids:
        return set()
    rows = db.session.execute(
        select(Guardianship.guardian_id, Guardianship.student_id).where(
            Guardianship.student_id.in_(ids)
        )
    )
    return {(guardian, student) for guardian, student in rows}


def _linked(user: User, child: TrustedGrantChild, links: set[tuple[int, int]]) -> bool:
    return user.person_id is not None and (user.person_id, child.student_id) in links


def _tell_parents(
    tenant: str,
    kind: str,
    children: dict[int, str],
    links: set[tuple[int, int]],
    but: User,
    payload: dict,
    inviter: User | None = None,
) -> None:
    """A notice to every parent of ``children`` (id → name) but ``but``, addressed to their
    registry record (it waits for a parent who has not logged in yet), naming only their own
    children among them; ``inviter``'s says that the invitation was theirs."""
    theirs: dict[int, list[str]] = defaultdict(list)
    for guardian, student in sorted(links):
        if student in children and guardian != but.person_id:
            theirs[guardian].append(children[student])
    for guardian, names in theirs.items():
        yours = inviter is not None and guardian == inviter.person_id
        db.session.add(Notification(
            tenant=tenant, recipient_id=guardian, kind=kind,
            payload={**payload, "children": names, "yours": yours},
        ))  # fmt: skip


# --- the parent's side ------------------------------------------------------------------------


class InviteRefused(ValueError):
    pass


class AlreadyEnded(InviteRefused):
    """Nothing is left to revoke: ended, declined or expired meanwhile (another parent, or
    the same form sent twice, may have been first)."""


class InvitationExpired(InviteRefused):
    """The invitation was not answered in time."""

    def __init__(self, grant: TrustedGrant):
        super().__init__(grant.id)
        self.grant = grant


def invite(
    tenant: Tenant, parent: User, invitee: User, children: Iterable[Student], request_key: str
) -> TrustedGrant:
    """Send the invitation, once per wizard run (``request_key``): a second «Отправить»,
    or the same form in two tabs, finds the first invitation. ``children``: the parent's,
    as the registry links them now (``app.diary.people.linked_children``). The invitation
    expires after the region's ``invitation_days`` as they are now; the children's other
    parents are told."""
    existing = _by_key(tenant, parent, request_key)
    if existing is not None:
        return existing
    children = list(children)
    if invitee.id == parent.id or not children:
        raise InviteRefused(invitee.id)
    moment = now()
    grant = TrustedGrant(
        tenant=tenant.slug,
        request_key=request_key,
        parent_id=parent.id,
        invitee_id=invitee.id,
        status=SENT,
        created_at=moment,
        expires_at=moment + invitation_lifetime(tenant),
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
                 "children": [c.full_name for c in children], "service": SERVICE_IDS["diary"]},
    ))  # fmt: skip
    names = {c.id: c.full_name for c in children}
    _tell_parents(tenant.slug, TRUSTED_SHARED, names, _links(names), parent, {
        "grant_id": grant.id, "by": parent.display_name, "trusted": invitee.display_name,
        "expires_at": grant.expires_at.isoformat(),
    })  # fmt: skip
    audit.record("trusted_invited", actor_id=parent.id, commit=False, grant_id=grant.id,
                 invitee_id=invitee.id, children=[c.id for c in children])  # fmt: skip
    db.session.commit()
    return grant


def _by_key(tenant: Tenant, parent: User, request_key: str) -> TrustedGrant | None:
    return db.session.scalar(
        select(TrustedGrant).filter_by(tenant=tenant.slug, parent_id=parent.id,
                                       request_key=request_key)
    )  # fmt: skip


def _loaded(grant_id: int, tenant: str) -> TrustedGrant | None:
    return db.session.scalar(
        select(TrustedGrant)
        .where(TrustedGrant.id == grant_id, TrustedGrant.tenant == tenant)
        .options(selectinload(TrustedGrant.children).selectinload(TrustedGrantChild.student),
                 selectinload(TrustedGrant.parent), selectinload(TrustedGrant.invitee))
    )  # fmt: skip


def revoke(parent: User, grant_id: int) -> TrustedGrant:
    """A parent of the grant's children — whoever invited — ends it at once for the children
    the registry links to them now (for all of them when they are the parent of every
    child, as is usual); LookupError when they are the parent of none of them, AlreadyEnded
    when nothing is left to end. The trusted person and the children's other parents (the
    inviting one among them) are told."""
    grant = _loaded(grant_id, parent.tenant)
    if grant is None:
        raise LookupError(grant_id)
    links = _links(c.student_id for c in grant.children)
    mine = [c for c in grant.children if _linked(parent, c, links)]
    if not mine:
        raise LookupError(grant_id)
    row = _parent_row(grant, parent, links, now())
    if row.state not in REVOCABLE:
        raise AlreadyEnded(grant_id)
    moment = now()
    # One statement decides: of two parents revoking at once, or one form sent twice, only
    # the first ends anything (and tells anyone).
    ended = set(db.session.scalars(
        update(TrustedGrantChild)
        .where(TrustedGrantChild.id.in_([c.id for c in mine]),
               TrustedGrantChild.ended_at.is_(None))
        .values(ended_at=moment, ended_by_id=parent.id)
        .returning(TrustedGrantChild.student_id)
        .execution_options(synchronize_session=False)
    ).all())  # fmt: skip
    if not ended:
        db.session.rollback()
        raise AlreadyEnded(grant_id)
    left = db.session.scalar(
        select(func.count(TrustedGrantChild.id)).where(
            TrustedGrantChild.grant_id == grant.id, TrustedGrantChild.ended_at.is_(None)
        )
    )
    invitation = grant.status == SENT
    if not left:
        db.session.execute(
            update(TrustedGrant)
            .where(TrustedGrant.id == grant.id, TrustedGrant.status.in_((SENT, ACCEPTED)))
            .values(status=REVOKED, ended_at=moment)
            .execution_options(synchronize_session=False)
        )
        _resolve_invitation(grant, moment)
    names = {c.student_id: c.student.full_name for c in mine if c.student_id in ended}
    db.session.add(Notification(
        tenant=grant.tenant, recipient_user_id=grant.invitee_id, kind=TRUSTED_REVOKED,
        payload={"grant_id": grant.id, "by": parent.display_name,
                 "children": list(names.values()), "invitation": invitation},
    ))  # fmt: skip
    _tell_parents(grant.tenant, TRUSTED_REVOKED_FOR_CHILD, names, links, parent, {
        "grant_id": grant.id, "by": parent.display_name,
        "trusted": grant.invitee.display_name, "invitation": invitation,
    }, inviter=grant.parent)  # fmt: skip
    audit.record("trusted_revoked", actor_id=parent.id, commit=False, grant_id=grant.id,
                 children=sorted(ended), parent_id=grant.parent_id)  # fmt: skip
    db.session.commit()
    return grant


def _resolve_invitation(grant: TrustedGrant, moment: datetime) -> None:
    """The invitee's invitation item: answered, ended or expired, it waits for nothing."""
    for item in db.session.scalars(
        select(Notification).filter_by(kind=INVITATION, recipient_user_id=grant.invitee_id,
                                       resolved_at=None)
    ):  # fmt: skip
        if item.payload.get("grant_id") == grant.id:
            item.resolved_at = moment


# --- the invitee's side -----------------------------------------------------------------------


def answer(tenant: Tenant, invitee: User, grant_id: int, *, accept: bool) -> TrustedGrant:
    """Only the invitee answers, only once, and only before the invitation expires: at the
    moment of expiry it is too late. LookupError for anyone else's invitation,
    InvitationExpired when late, InviteRefused when answered (or revoked) already."""
    grant = _grant(invitee, grant_id, TrustedGrant.invitee_id)
    moment = now()
    values = {"status": ACCEPTED if accept else DECLINED, "answered_at": moment}
    if accept:
        values["active_from"] = moment + activation_delay(tenant)
    live = select(TrustedGrantChild.id).where(
        TrustedGrantChild.grant_id == grant.id, TrustedGrantChild.ended_at.is_(None)
    )
    # The conditions and the change in one statement: two answers at once, or an answer
    # racing the expiry or a revocation, cannot both hold.
    answered = db.session.execute(
        update(TrustedGrant)
        .where(TrustedGrant.id == grant.id, TrustedGrant.status == SENT,
               TrustedGrant.expires_at > moment, live.exists())
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    if answered != 1:
        db.session.rollback()
        if grant.status == SENT and _aware(grant.expires_at) <= moment:
            _resolve_invitation(grant, moment)
            db.session.commit()
            raise InvitationExpired(grant)
        raise InviteRefused(grant_id)
    _resolve_invitation(grant, moment)
    audit.record("trusted_accepted" if accept else "trusted_declined", actor_id=invitee.id,
                 commit=False, grant_id=grant.id)  # fmt: skip
    db.session.commit()
    return grant


def leave(invitee: User, grant_id: int) -> TrustedGrant:
    grant = _grant(invitee, grant_id, TrustedGrant.invitee_id)
    moment = now()
    left = db.session.execute(
        update(TrustedGrant)
        .where(TrustedGrant.id == grant.id, TrustedGrant.status == ACCEPTED)
        .values(status=LEFT, ended_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount
    if left != 1:
        db.session.rollback()
        raise LookupError(grant_id)
    audit.record("trusted_left", actor_id=invitee.id, commit=False, grant_id=grant.id)
    db.session.commit()
    return grant


def _grant(user: User, grant_id: int, column) -> TrustedGrant:
    grant = db.session.scalar(
        select(TrustedGrant).where(TrustedGrant.id == grant_id,
                                   TrustedGrant.tenant == user.tenant, column == user.id)
    )  # fmt: skip
    if grant is None:
        raise LookupError(grant_id)
    return grant


def expired_words(tenant: Tenant, grant: TrustedGrant) -> str:
    return _(
        "Срок действия приглашения истёк %(when)s: принять или отклонить его уже нельзя. "
        "Если доступ к дневнику нужен, попросите родителя (%(parent)s) отправить новое "
        "приглашение.",
        when=local_time(grant.expires_at, _zone(tenant)), parent=grant.parent.display_name,
    )  # fmt: skip


# --- what each side sees ----------------------------------------------------------------------


@dataclass(frozen=True)
class GrantRow:
    grant: TrustedGrant
    state: str
    children: list[str]
    # When and by whom it ended for the children in view (revoked, left, declined).
    ended_at: datetime | None = None
    ended_by: User | None = None

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def revocable(self) -> bool:
        return self.state in REVOCABLE


def _ending(grant: TrustedGrant, state: str, shown: list[TrustedGrantChild]):
    """(when, by whom) the grant ended for the children ``shown``."""
    if state == "revoked":
        ended = [c for c in shown if c.ended_at is not None]
        if ended:  # the latest revocation; older rows recorded the grant's only
            last = max(ended, key=lambda c: _aware(c.ended_at))
            return _aware(last.ended_at), last.ended_by
        return _aware(grant.ended_at), grant.parent
    if state == "left":
        return _aware(grant.ended_at), grant.invitee
    if state == "declined":
        return _aware(grant.answered_at), grant.invitee
    return None, None


def _parent_row(
    grant: TrustedGrant, viewer: User, links: set[tuple[int, int]], at: datetime
) -> GrantRow:
    """The grant as a parent sees it: only their own children in it."""
    shown = [c for c in grant.children if _linked(viewer, c, links)]
    live = [c for c in shown if c.ended_at is None]
    state = _state(grant, live, at)
    if state in ("sent", "waiting", "active") and not any(
        _linked(grant.parent, c, links) for c in live
    ):
        state = "unlinked"
    ended_at, ended_by = _ending(grant, state, shown)
    return GrantRow(grant, state, [c.student.full_name for c in shown], ended_at, ended_by)


_LOADED = (
    selectinload(TrustedGrant.children).selectinload(TrustedGrantChild.student),
    selectinload(TrustedGrant.children).selectinload(TrustedGrantChild.ended_by),
    selectinload(TrustedGrant.parent),
    selectinload(TrustedGrant.invitee),
)


def for_children_of(parent: User) -> list[GrantRow]:
    """Every invitation and grant made — by this parent or another — for the children the
    registry links to ``parent`` now, newest first, each naming only those children."""
    if parent.person_id is None:
        return []
    children = select(Guardianship.student_id).where(Guardianship.guardian_id == parent.person_id)
    touching = select(TrustedGrantChild.grant_id).where(TrustedGrantChild.student_id.in_(children))
    grants = db.session.scalars(
        select(TrustedGrant)
        .where(TrustedGrant.tenant == parent.tenant, TrustedGrant.id.in_(touching))
        .options(*_LOADED)
        .order_by(TrustedGrant.created_at.desc(), TrustedGrant.id.desc())
    ).all()
    links = _links(c.student_id for grant in grants for c in grant.children)
    moment = now()
    return [_parent_row(grant, parent, links, moment) for grant in grants]


def received_by(invitee: User) -> list[GrantRow]:
    grants = db.session.scalars(
        select(TrustedGrant)
        .where(TrustedGrant.invitee_id == invitee.id, TrustedGrant.tenant == invitee.tenant)
        .options(*_LOADED)
        .order_by(TrustedGrant.created_at.desc(), TrustedGrant.id.desc())
    ).all()
    moment = now()
    rows = []
    for grant in grants:
        live = [c for c in grant.children if c.ended_at is None]
        state = _state(grant, live, moment)
        # A child a parent took out of the grant is no longer named in it.
        shown = live if live and grant.status not in (DECLINED, REVOKED, LEFT) else grant.children
        ended_at, ended_by = _ending(grant, state, list(grant.children))
        rows.append(
            GrantRow(grant, state, [c.student.full_name for c in shown], ended_at, ended_by)
        )
    return rows


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
    zone = _zone(tenant)
    revoked_child = next(
        (c for c in grant.children if c.student_id == child_id and c.ended_at is not None), None
    )
    if revoked_child is not None:  # a parent took this child out of the grant
        by = revoked_child.ended_by.display_name if revoked_child.ended_by else parent
        when = local_time(revoked_child.ended_at, zone)
        return _("Доступ к дневнику отозван родителем (%(by)s) %(when)s.", by=by, when=when)
    expires = local_time(grant.expires_at, zone)
    if row.state == "sent":
        waits = _(
            "Приглашение от родителя (%(parent)s) ждёт вашего ответа в разделе «Уведомления» "
            "до %(when)s.",
            parent=parent, when=expires,
        )  # fmt: skip
        return f"{waits} {activation_phrase(tenant)}"
    if row.state == "expired":
        return _(
            "Приглашение от родителя (%(parent)s) истекло %(when)s: принять его уже нельзя. "
            "Родитель может отправить новое приглашение.",
            parent=parent, when=expires,
        )  # fmt: skip
    if row.state == "waiting":
        opens = _("Доступ откроется %(when)s.", when=local_time(grant.active_from, zone))
        return " ".join((_("Вы приняли приглашение."), activation_phrase(tenant), opens))
    if row.state == "revoked":
        by = row.ended_by.display_name if row.ended_by else parent
        return _("Доступ к дневнику отозван родителем (%(by)s) %(when)s.",
                 by=by, when=local_time(row.ended_at, zone))  # fmt: skip
    if row.state == "left":
        return _("Вы отказались от доступа к дневнику %(when)s.",
                 when=local_time(grant.ended_at, zone))  # fmt: skip
    if row.state == "declined":
        return _("Вы отклонили приглашение родителя (%(parent)s).", parent=parent)
    # Accepted and active, yet not readable: the school no longer links the child to the parent.
    return _(
        "Школа больше не связывает ребёнка с родителем (%(parent)s), который вас пригласил, "
        "поэтому доступ к дневнику закрыт.",
        parent=parent,
    )


def readable_children_clause(user: User, at: datetime):
    """SQL: the children this user may read as a trusted person right now — accepted, past
    the activation delay, not ended nor revoked for the child, and still linked to the
    inviting parent."""
    parent = aliased(User)
    return (
        select(TrustedGrantChild.student_id)
        .join(TrustedGrant, TrustedGrant.id == TrustedGrantChild.grant_id)
        .join(parent, parent.id == TrustedGrant.parent_id)
        .join(Guardianship, and_(Guardianship.guardian_id == parent.person_id,
                                 Guardianship.student_id == TrustedGrantChild.student_id))
        .where(TrustedGrant.invitee_id == user.id, TrustedGrant.tenant == user.tenant,
               TrustedGrant.status == ACCEPTED, TrustedGrant.active_from <= at,
               TrustedGrantChild.ended_at.is_(None))
    )  # fmt: skip
