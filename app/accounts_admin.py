"""A regional administrator's work on the accounts of their region: finding a person, what
their account holds (roles, registry records, active sessions), disabling it and enabling it
again.

A change of state is one conditional UPDATE with its audit row in the same transaction, so
two administrators acting at once make one change and one row, and the other is told that
the account already was in that state (:class:`AlreadyDone`). Disabling then ends every
session of the account (``end_sessions``), so the person's next request meets the sign-in
page saying why; the user loader refuses a disabled account on every request in any case, so
a session store that did not answer at that moment lets nobody in either.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import ColumnElement, and_, false, func, or_, select, update

from app import audit
from app.access import ROLE_LABELS, RoleKind
from app.accounts import contact_key, structural_roles
from app.extensions import db
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l
from app.i18n import ngettext
from app.identity import offered_methods, provider_class
from app.identity.types import normalize_email, normalize_name, normalize_phone
from app.models import (
    AuditEvent,
    Enrolment,
    Guardianship,
    Person,
    RegionalAdmin,
    School,
    SchoolClass,
    StaffRole,
    StructuralRole,
    User,
)
from app.sessions import STORE_ERRORS, active_sessions, end_sessions
from app.tenants import Tenant

PAGE = 20
QUERY_MAX = 100
REASON_MAX = 200
NAME_WORDS_MAX = 4
HISTORY_SHOWN = 10
# The audit kinds of a change of an account's state, and the state each leaves.
DISABLED, ENABLED = "account_disabled", "account_enabled"


class OwnAccount(Exception):
    """An administrator may not disable their own account: another one of the region may."""


class AlreadyDone(Exception):
    """The account already is in the state asked for (another administrator, or a second
    press of the button, got there first)."""


class QueryProblem(ValueError):
    """What is wrong with what was typed into the search, in words for the field."""


# --- finding a person ---------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    user: User
    person: Person | None
    roles: tuple[str, ...]  # the labels of the roles the account holds now


@dataclass(frozen=True)
class FoundPage:
    query: str
    rows: list[Found]
    total: int
    offset: int

    @property
    def more(self) -> bool:
        return self.offset + len(self.rows) < self.total

    @property
    def previous(self) -> int | None:
        return max(self.offset - PAGE, 0) if self.offset else None


def clean_query(text: str) -> str:
    """What was typed, with its spaces collapsed; QueryProblem if it cannot be searched."""
    query = " ".join((text or "").split())
    if len(query) > QUERY_MAX:
        raise QueryProblem(ngettext("Не длиннее %(num)d знака.", "Не длиннее %(num)d знаков.",
                                    QUERY_MAX))  # fmt: skip
    if len(re.sub(r"[\W_]", "", query)) < 2:
        raise QueryProblem(
            _("Введите хотя бы два знака: часть ФИО, почту, телефон или цифры СНИЛС.")
        )
    return query


def _by_name(query: str) -> ColumnElement[bool]:
    """Every word is part of the person's name: the normalised surname or registry name, or
    the account's name as the provider spelled it (capitalised as names are written)."""
    words = normalize_name(query).split()[:NAME_WORDS_MAX]
    typed = query.split()[:NAME_WORDS_MAX]
    conditions = []
    for word, as_typed in zip(words, typed, strict=False):
        spellings = {as_typed, word, word.capitalize(), as_typed.capitalize()}
        conditions.append(
            or_(
                User.surname_key.startswith(word, autoescape=True),
                Person.name_key.contains(word, autoescape=True),
                *(User.display_name.contains(s, autoescape=True) for s in sorted(spellings)),
            )
        )
    return and_(*conditions)


def _by_digits(query: str) -> ColumnElement[bool]:
    """A phone number, a whole СНИЛС or its last digits."""
    digits = re.sub(r"\D", "", query)
    options: list[ColumnElement[bool]] = []
    if len(digits) <= 11:
        options.append(Person.snils.endswith(digits))
    if len(digits) == 11:
        options.append(User.snils_key == contact_key("snils", digits))
    phone = normalize_phone(query)
    if phone and len(phone) == 11:
        options += [Person.phone == phone, User.phone_key == contact_key("phone", phone)]
    return or_(false(), *options)


def criterion(query: str) -> ColumnElement[bool]:
    if "@" in query:
        return Person.email == normalize_email(query)
    if re.fullmatch(r"[\d\s()+\-.]+", query):
        return _by_digits(query)
    return _by_name(query)


def find_accounts(tenant: str, text: str, offset: int = 0) -> FoundPage:
    """The region's accounts whose person matches ``text`` (by name, e-mail, phone or the last
    digits of СНИЛС), ``PAGE`` at a time from ``offset``. Raises QueryProblem."""
    query = clean_query(text)
    condition = (User.tenant == tenant) & criterion(query)
    linked = User.person_id == Person.id
    total = db.session.scalar(
        select(func.count(User.id)).select_from(User).outerjoin(Person, linked).where(condition)
    )
    matching = select(User, Person).outerjoin(Person, linked).where(condition)
    offset = min(max(offset, 0), max(total - 1, 0) // PAGE * PAGE)  # past the end: the last page
    found = db.session.execute(
        matching.order_by(User.display_name, User.id).offset(offset).limit(PAGE)
    ).all()
    roles = _roles_of(tenant, [user.id for user, _ in found])
    rows = [Found(user, person, tuple(roles.get(user.id, ()))) for user, person in found]
    return FoundPage(query, rows, total, offset)


def _roles_of(tenant: str, user_ids: list[int]) -> dict[int, list[str]]:
    """The labels of the roles each account holds now: its active structural roles, and the
    regional administrator's appointment even before its first login."""
    held: dict[int, list[str]] = {}
    if not user_ids:
        return held
    active = select(StructuralRole.user_id, StructuralRole.kind).where(
        StructuralRole.user_id.in_(user_ids), StructuralRole.ended_at.is_(None)
    )
    for user_id, kind in db.session.execute(active.order_by(StructuralRole.since)):
        held.setdefault(user_id, []).append(ROLE_LABELS.get(kind, kind))
    appointed = select(RegionalAdmin.user_id).where(
        RegionalAdmin.tenant == tenant, RegionalAdmin.user_id.in_(user_ids)
    )
    admin = ROLE_LABELS[RoleKind.ADMIN.value]
    for user_id in db.session.scalars(appointed):
        if admin not in held.get(user_id, []):
            held.setdefault(user_id, []).append(admin)
    return held


# --- one account --------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordLine:
    """One thing the registry says about the person: a role and where."""

    role: str
    where: str
    ended: bool = False


@dataclass(frozen=True)
class SessionLine:
    device: str
    user_agent: str
    ip: str
    created: datetime
    last_seen: datetime


@dataclass(frozen=True)
class StateChange:
    """A past disabling or enabling, from the audit trail."""

    disabled: bool
    at: datetime
    by: str
    reason: str


@dataclass(frozen=True)
class AccountDetails:
    user: User
    method: str
    roles: list[tuple[str, bool]]  # label, active
    person: Person | None
    records: list[RecordLine]
    sessions: list[SessionLine]
    history: list[StateChange]


def account_of(tenant: str, user_id: int) -> User:
    """An account of this region; LookupError for any other id (another region's included)."""
    user = db.session.get(User, user_id)
    if user is None or user.tenant != tenant:
        raise LookupError(user_id)
    return user


def details(tenant: Tenant, user: User) -> AccountDetails:
    held = structural_roles(user)
    roles = [(ROLE_LABELS.get(r.kind, r.kind), r.active) for r in held]
    appointed = db.session.scalar(
        select(RegionalAdmin.id).filter_by(tenant=tenant.slug, user_id=user.id)
    )
    if appointed and RoleKind.ADMIN.value not in {r.kind for r in held}:
        roles.append((ROLE_LABELS[RoleKind.ADMIN.value], True))  # appointed, not yet logged in
    return AccountDetails(
        user=user,
        method=method_of(tenant, user),
        roles=roles,
        person=user.person,
        records=registry_lines(user.person) if user.person else [],
        sessions=sessions_of(user),
        history=history_of(tenant.slug, user.id),
    )


def method_of(tenant: Tenant, user: User) -> str:
    """The login method the account comes through, by its button's words."""
    for method in offered_methods(tenant):
        provider = provider_class(method.kind)
        if provider.issuer_of(tenant.config.identity_provider) == user.issuer:
            return method.label
    return "—"


def registry_lines(person: Person) -> list[RecordLine]:
    """Where the registry places the person: enrolments, staff roles, children."""
    lines = []
    enrolled = (
        select(Enrolment.active, SchoolClass.name, School.short_name)
        .join(SchoolClass, Enrolment.class_id == SchoolClass.id)
        .join(School, SchoolClass.school_id == School.id)
        .where(Enrolment.person_id == person.id)
        .order_by(Enrolment.id)
    )
    student = ROLE_LABELS[RoleKind.STUDENT.value]
    for active, class_name, school in db.session.execute(enrolled):
        where = _("%(school)s, %(class_name)s класс", school=school, class_name=class_name)
        lines.append(RecordLine(student, where, ended=not active))
    staff = (
        select(StaffRole.role, School.short_name)
        .join(School, StaffRole.school_id == School.id)
        .where(StaffRole.person_id == person.id)
        .order_by(StaffRole.id)
    )
    for role, school in db.session.execute(staff):
        lines.append(RecordLine(ROLE_LABELS.get(role, role), school))
    children = (
        select(Person)
        .join(Guardianship, Guardianship.student_id == Person.id)
        .where(Guardianship.guardian_id == person.id)
        .order_by(Person.birth_date, Person.id)
    )
    guardian = ROLE_LABELS[RoleKind.GUARDIAN.value]
    for child in db.session.scalars(children):
        lines.append(RecordLine(guardian, _("ребёнок %(name)s", name=child.full_name)))
    return lines


def sessions_of(user: User) -> list[SessionLine]:
    return [
        SessionLine(device_words(s.user_agent), s.user_agent, s.ip, s.created, s.last_seen)
        for s in active_sessions(current_app, user.tenant, user.id, None)
    ]


BROWSERS = (
    ("YaBrowser/", _l("Яндекс Браузер")),
    ("Edg", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def device_words(user_agent: str) -> str:
    """«Chrome, Android»: the browser and system a session came from, as people name them."""
    browser = next((name for mark, name in BROWSERS if mark in user_agent), None)
    system = next((name for mark, name in SYSTEMS if mark in user_agent), None)
    named = ", ".join(str(part) for part in (browser, system) if part)
    return named or _("неизвестное устройство")


def history_of(tenant: str, user_id: int) -> list[StateChange]:
    """The account's disablings and enablings, newest first."""
    # The region's changes of state are few; the account is picked out of them here, as the
    # detail's id is a number or, once erased, a pseudonym (no one cast suits both databases).
    changes = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.tenant == tenant, AuditEvent.kind.in_((DISABLED, ENABLED)))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ).all()
    events = [e for e in changes if e.detail.get("user_id") == user_id][:HISTORY_SHOWN]
    actors = {e.actor_id for e in events if e.actor_id is not None}
    named = select(User.id, User.display_name).where(User.id.in_(actors))
    names = dict(db.session.execute(named).all())
    return [
        StateChange(
            disabled=event.kind == DISABLED,
            at=event.created_at,
            by=names.get(event.actor_id, "—") if event.actor_id else _("система"),
            reason=str(event.detail.get("reason") or "—"),
        )
        for event in events
    ]


# --- disabling and enabling ---------------------------------------------------------------


def clean_reason(text: str | None) -> str:
    """The reason, one line; ValueError with the words for the field if there is none."""
    reason = " ".join((text or "").split())
    if not reason:
        raise ValueError(_("Укажите причину: её увидят другие администраторы региона в журнале."))
    if len(reason) > REASON_MAX:
        raise ValueError(ngettext("Причина не длиннее %(num)d знака.",
                                  "Причина не длиннее %(num)d знаков.", REASON_MAX))  # fmt: skip
    return reason


def _set_disabled(tenant: str, user: User, disabled: bool, *, by: User, reason: str) -> None:
    """The change and its audit row, or nothing and AlreadyDone: one statement decides."""
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.tenant == tenant, User.disabled.is_(not disabled))
        .values(disabled=disabled)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        db.session.refresh(user)
        raise AlreadyDone(user.id)
    audit.record("account_disabled" if disabled else "account_enabled", tenant=tenant,
                 actor_id=by.id, commit=False,
                 user_id=user.id, reason=reason)  # fmt: skip
    db.session.commit()
    db.session.refresh(user)


def disable(tenant: str, user: User, *, by: User, reason: str) -> int | None:
    """Disable the account and end its sessions; how many ended (None: the session store did
    not answer, and the account is refused on every request all the same).
    Raises OwnAccount, AlreadyDone."""
    if user.id == by.id:
        raise OwnAccount(user.id)
    _set_disabled(tenant, user, True, by=by, reason=reason)
    try:
        return end_sessions(user, reason="account_disabled")
    except STORE_ERRORS as error:
        db.session.rollback()
        current_app.logger.warning("sessions of a disabled account not ended: %s",
                                   type(error).__name__)  # fmt: skip
        return None


def enable(tenant: str, user: User, *, by: User, reason: str) -> None:
    """Let the person in again. Raises AlreadyDone."""
    _set_disabled(tenant, user, False, by=by, reason=reason)
