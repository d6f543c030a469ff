"""Completing any login (DESIGN.md §2): identity → user → access decision → session.

Every provider's success ends in :func:`complete_login`, whichever route it came back through
(flask-multipass's single identity handler). The steps after it are named and run in order
(python-social-auth's pipeline): find the user, refuse a disabled account, take the access
decision, ask the guardians for consent, start a fresh session, keep what the person may send
their school. The view only redirects where the result says.

What the session keeps of the decision is an :class:`Access`: ids and kinds only, no
personal data. Blueprints and templates read it through :func:`current_access`, never the
session's raw dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from flask import session
from flask_login import login_user
from sqlalchemy import select

from app import audit
from app.access import Decision, Outcome, RoleKind, evaluate
from app.accounts import note_sign_in, sync_roles, user_for
from app.consent import give_own, request_parental
from app.extensions import db
from app.i18n import N_
from app.i18n import gettext as _
from app.identity import ExternalIdentity, ProviderTraits, provider_class
from app.models import User
from app.schools.requests import applicant_of, schools_of_record
from app.tenants import Tenant

# A disabled account stops every login, whatever the method, before any session starts.
# A Russian message id kept as plain text, translated where the refusal is made: `_(DISABLED)`.
DISABLED = N_(
    "Войти не получилось: ваша учётная запись на портале отключена. Чтобы восстановить "
    "доступ, обратитесь в свою школу."
)


# --- what the session keeps ----------------------------------------------------------------


@dataclass(frozen=True)
class RoleAccess:
    """A role the login gave, with the registry ids of a guardian's children (``waiting``:
    those whose kinship the provider is still checking, P4)."""

    kind: str
    children: tuple[int, ...] = ()
    waiting: tuple[int, ...] = ()


@dataclass(frozen=True)
class Access:
    """The login's decision as the session keeps it, and the role the person acts in now."""

    outcome: Outcome
    method: str
    person_id: int | None = None
    roles: tuple[RoleAccess, ...] = ()
    differing: tuple[str, ...] = ()
    near_id: int | None = None
    missing: tuple[str, ...] = ()
    is_minor: bool = False
    role: str | None = None  # the current role, once chosen

    @property
    def granted(self) -> bool:
        return self.outcome in (Outcome.DIARY, Outcome.CHOOSE_ROLE)

    @property
    def traits(self) -> ProviderTraits:
        """Those of the provider the person came through (what their pages explain)."""
        provider = provider_class(self.method)
        return provider.traits if provider else ProviderTraits()

    @property
    def role_kinds(self) -> list[str]:
        return [role.kind for role in self.roles]

    @property
    def several_roles(self) -> bool:
        return len(self.roles) > 1

    def has_role(self, kind: str) -> bool:
        return kind in self.role_kinds

    def role_of(self, kind: str | None) -> RoleAccess | None:
        return next((role for role in self.roles if role.kind == kind), None)

    @property
    def current(self) -> RoleAccess | None:
        """The role the person acts in now, if they hold it."""
        return self.role_of(self.role)

    @property
    def guardian_children(self) -> tuple[int, ...]:
        guardian = self.role_of(RoleKind.GUARDIAN.value)
        return guardian.children if guardian else ()

    @property
    def acting_as_regional_admin(self) -> bool:
        return self.role == RoleKind.ADMIN.value

    # --- to and from the session ----------------------------------------------------------

    @classmethod
    def of(cls, decision: Decision, method: str) -> Access:
        return cls(
            outcome=decision.outcome,
            method=method,
            person_id=decision.person_id,
            roles=tuple(
                RoleAccess(
                    role.kind.value,
                    tuple(c.person.id for c in role.children),
                    tuple(c.person.id for c in role.waiting),
                )
                for role in decision.roles
            ),
            differing=tuple(decision.differing),
            near_id=decision.near_id,
            missing=tuple(decision.missing),
            is_minor=decision.is_minor,
        )

    def to_session(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome.value,
            "method": self.method,
            "person_id": self.person_id,
            "roles": [
                {"kind": r.kind, "children": list(r.children), "waiting": list(r.waiting)}
                for r in self.roles
            ],
            "differing": list(self.differing),
            "near_id": self.near_id,
            "missing": list(self.missing),
            "is_minor": self.is_minor,
        }

    @classmethod
    def from_session(cls, kept: dict[str, Any], role: str | None) -> Access:
        return cls(
            outcome=Outcome(kept["outcome"]),
            method=kept.get("method", ""),
            person_id=kept.get("person_id"),
            roles=tuple(
                RoleAccess(r["kind"], tuple(r.get("children", ())), tuple(r.get("waiting", ())))
                for r in kept.get("roles", [])
            ),
            differing=tuple(kept.get("differing", ())),
            near_id=kept.get("near_id"),
            missing=tuple(kept.get("missing", ())),
            is_minor=bool(kept.get("is_minor")),
            role=role,
        )


def current_access() -> Access | None:
    """The access this session's login was given; None before any login."""
    kept = session.get("access")
    return Access.from_session(kept, session.get("role")) if kept else None


def _keep(access: Access) -> None:
    session["access"] = access.to_session()
    if access.role is None:
        session.pop("role", None)
    else:
        session["role"] = access.role


def choose_role(access: Access, kind: str) -> Access:
    """Act in one of the roles the login gave. Raises LookupError for any other."""
    if not access.has_role(kind):
        raise LookupError(kind)
    chosen = replace(access, role=kind)
    _keep(chosen)
    return chosen


def add_session_role(kind: str) -> None:
    """A role gained while signed in (an accepted invitation makes a trusted person)."""
    access = current_access()
    if access is not None and not access.has_role(kind):
        _keep(replace(access, roles=(*access.roles, RoleAccess(kind))))


def pending_user() -> User | None:
    """The account of a login the decision stopped (consent, school request); None once the
    account is disabled, so a stopped login cannot be carried on past a disabling."""
    user = db.session.get(User, session.get("pending_user_id") or 0)
    return None if user is None or user.disabled else user


# --- completing a login --------------------------------------------------------------------


@dataclass(frozen=True)
class Entered:
    """Where the person goes after the login: the page of their access, or back to the login
    page with ``refusal`` said there."""

    endpoint: str
    refusal: str | None = None


@dataclass
class Login:
    """One login passing through the steps."""

    tenant: Tenant
    identity: ExternalIdentity
    method: str
    today: date
    user: User | None = None
    decision: Decision | None = None
    detail: dict[str, Any] = field(default_factory=dict)


Step = Callable[[Login], Entered | None]


def find_user(login: Login) -> None:
    login.user = user_for(login.tenant, login.identity)


def disabled_before_login(
    tenant: Tenant, identity: ExternalIdentity, method: str
) -> Entered | None:
    """A disabled account is refused before anything else is asked of it (a school-issued
    password that must be changed first, say): the refusal, audited, or None."""
    user = db.session.scalar(
        select(User).filter_by(tenant=tenant.slug, issuer=identity.issuer, subject=identity.subject)
    )
    if user is None or not user.disabled:
        return None
    audit.record("login_failed", method=method, reason="account_disabled", actor_id=user.id)
    return Entered("auth.login", refusal=_(DISABLED))


def refuse_disabled(login: Login) -> Entered | None:
    if not login.user.disabled:
        return None
    audit.record("login_failed", method=login.method, reason="account_disabled",
                 actor_id=login.user.id)  # fmt: skip
    return Entered("auth.login", refusal=_(DISABLED))


def decide_access(login: Login) -> None:
    traits = provider_class(login.method).traits
    login.decision = evaluate(login.tenant, login.identity, login.user, login.today,
                              traits=traits)  # fmt: skip


def ask_guardians(login: Login) -> None:
    """A minor who needs a parent's consent: every linked parent is asked at once."""
    if login.decision.outcome == Outcome.PARENT_CONSENT_NEEDED:
        request_parental(login.tenant.slug, login.decision.person_id, login.decision.ask_guardians)


def note_schools(login: Login) -> None:
    """For the region's statistics: the record the person matched (a login stopped before its
    account is linked still counts at that record's school), and which schools' records
    people fail to match."""
    near = login.decision.near_id
    if login.decision.person_id is not None:
        login.detail["person_id"] = login.decision.person_id
    login.detail["schools"] = [s.id for s in schools_of_record(near)] if near else []


def start_session(login: Login) -> None:
    """A fresh session: nothing from before the login survives (no fixation)."""
    decision, user = login.decision, login.user
    session.clear()
    session.rotate()
    session["idp"] = {"kind": login.method, "session": login.identity.provider_session}
    access = Access.of(decision, login.method)
    if decision.granted:
        sign_in(user, access)
    else:
        _keep(access)
        session["pending_user_id"] = user.id
    audit.record("login_succeeded" if decision.granted else "login_stopped", actor_id=user.id,
                 commit=False, method=login.method, outcome=decision.outcome.value,
                 **login.detail)  # fmt: skip
    db.session.commit()


def keep_applicant(login: Login) -> None:
    """What the person may choose to send to a school (P7, P3); it stays on the server."""
    if login.decision.outcome == Outcome.STUDENT_PROFILE or login.decision.near_id is not None:
        session["applicant"] = applicant_of(login.identity)


PIPELINE: tuple[Step, ...] = (
    find_user,
    refuse_disabled,
    decide_access,
    ask_guardians,
    note_schools,
    start_session,
    keep_applicant,
)


def complete_login(
    tenant: Tenant, identity: ExternalIdentity, *, method: str, today: date | None = None
) -> Entered:
    """After any successful authentication (``method``: the login method's kind)."""
    login = Login(tenant, identity, method, today or date.today())
    for step in PIPELINE:
        stopped = step(login)
        if stopped is not None:
            return stopped
    return Entered("access.landing")


def sign_in(user: User, access: Access) -> None:
    """The person is in: their account is linked to the matched record, their structural
    roles follow the decision, and a single role is chosen for them."""
    note_sign_in(user, access.person_id)
    sync_roles(user, access.role_kinds)
    login_user(user)
    if len(access.roles) == 1:
        access = replace(access, role=access.roles[0].kind)
    _keep(access)


def enter_with_own_consent(access: Access, user: User) -> Entered:
    """«Для входа в дневник необходимо согласие…» given on the spot: the stopped login goes
    on into a fresh session."""
    if access.outcome != Outcome.OWN_CONSENT_NEEDED:
        raise LookupError(access.outcome)
    if user.disabled:
        session.clear()
        audit.record("login_failed", method=access.method, reason="account_disabled",
                     actor_id=user.id)  # fmt: skip
        return Entered("auth.login", refusal=_(DISABLED))
    give_own(user)
    outcome = Outcome.CHOOSE_ROLE if access.several_roles else Outcome.DIARY
    idp = session.get("idp")
    session.clear()
    session.rotate()
    session["idp"] = idp
    sign_in(user, replace(access, outcome=outcome))
    audit.record("login_succeeded", actor_id=user.id, outcome=outcome.value, method="consent")
    return Entered("access.landing")
