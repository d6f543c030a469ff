"""The access decision (DESIGN.md §5): who this person is in the diary, or why not.

A pure function of (tenant policy, external identity, what the registry says, consents, today).
Nothing here reads the database or the request; ``app.access.lookup`` gathers the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum

from app.identity.types import (
    ExternalIdentity,
    ProviderTraits,
    normalize_email,
    normalize_name,
    normalize_phone,
)
from app.tenants.schema import Policy


class Outcome(StrEnum):
    DIARY = "diary"
    CHOOSE_ROLE = "choose_role"
    NOT_FOUND = "not_found"
    EMAIL_MISSING = "email_missing"
    ACCOUNT_UNCONFIRMED = "account_unconfirmed"
    PARENT_CONSENT_NEEDED = "parent_consent_needed"
    OWN_CONSENT_NEEDED = "own_consent_needed"
    STUDENT_PROFILE = "student_profile"


class RoleKind(StrEnum):
    STUDENT = "student"
    GUARDIAN = "guardian"
    TEACHER = "teacher"
    SCHOOL_ADMIN = "school_admin"
    ADMIN = "regional_admin"
    # Reads the diaries of children whose parents invited them («Доверенные лица»).
    TRUSTED = "trusted"


# --- inputs: what the registry says ---------------------------------------------------------


@dataclass(frozen=True)
class RecordPerson:
    """A registry record in the form the decision compares (already normalised)."""

    id: int
    name_key: str
    birth_date: date | None
    snils: str | None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class RecordChild:
    person: RecordPerson
    full_name: str
    enrolled: bool


@dataclass(frozen=True)
class RecordFacts:
    """The matched record's roles: active enrolment, children, staff posts."""

    person: RecordPerson
    enrolled: bool = False
    children: tuple[RecordChild, ...] = ()
    staff_roles: tuple[str, ...] = ()
    guardian_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Consents:
    own: bool = False
    parental: bool = False


# --- output ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    kind: RoleKind
    children: tuple[RecordChild, ...] = ()
    # Children whose kinship Госуслуги is still checking with ЗАГС (P4).
    waiting: tuple[RecordChild, ...] = ()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    person_id: int | None = None
    roles: tuple[Role, ...] = ()
    # NOT_FOUND: which of the matching fields differ (never the school's values).
    differing: tuple[str, ...] = ()
    # NOT_FOUND: the record that differs in that one field, for the school's queue (P3).
    near_id: int | None = None
    # MISSING fields the provider did not give (mos.ru: email, phone).
    missing: tuple[str, ...] = ()
    # PARENT_CONSENT_NEEDED: the guardians (registry ids) to ask.
    ask_guardians: tuple[int, ...] = field(default=())
    is_minor: bool = False

    @property
    def granted(self) -> bool:
        return self.outcome in (Outcome.DIARY, Outcome.CHOOSE_ROLE)


# --- matching -------------------------------------------------------------------------------


def identity_values(identity: ExternalIdentity) -> dict[str, object]:
    return {
        "full_name": normalize_name(str(identity.full_name)),
        "snils": identity.snils,
        "birth_date": identity.birth_date,
        "email": normalize_email(identity.email),
        "phone": normalize_phone(identity.phone),
    }


def record_values(record: RecordPerson) -> dict[str, object]:
    return {
        "full_name": record.name_key,
        "snils": record.snils,
        "birth_date": record.birth_date,
        "email": record.email,
        "phone": record.phone,
    }


def differing_fields(identity: ExternalIdentity, record: RecordPerson, fields) -> tuple[str, ...]:
    mine, theirs = identity_values(identity), record_values(record)
    return tuple(f for f in fields if mine[f] is None or mine[f] != theirs[f])


def best_match(
    identity: ExternalIdentity, candidates: tuple[RecordPerson, ...], fields
) -> tuple[RecordPerson | None, tuple[str, ...], RecordPerson | None]:
    """(the record equal on every field, (), None), or (None, what differs, the closest record).

    A closest record counts only if it agrees on all fields but one: any looser and we would
    be telling someone about a stranger's record.
    """
    closest: tuple[str, ...] = ()
    near: RecordPerson | None = None
    for candidate in candidates:
        differs = differing_fields(identity, candidate, fields)
        if not differs:
            return candidate, (), None
        if len(differs) == 1 and near is None:
            closest, near = differs, candidate
    return None, closest, near


def missing_fields(identity: ExternalIdentity, fields) -> tuple[str, ...]:
    values = identity_values(identity)
    return tuple(f for f in fields if f in ("email", "phone") and not values[f])


def _child_matches(child, record: RecordChild) -> bool:
    return (
        normalize_name(str(child.full_name)) == record.person.name_key
        and child.birth_date == record.person.birth_date
        and (
            child.snils is None or record.person.snils is None or child.snils == record.person.snils
        )
    )


def guardian_role(
    identity: ExternalIdentity, facts: RecordFacts, traits: ProviderTraits
) -> Role | None:
    """Children the school links to this guardian and the provider (Госуслуги) confirms as
    theirs. Where the provider knows no children (mos.ru), the school's record is the source,
    as in Moscow."""
    if not traits.lists_children:
        return Role(RoleKind.GUARDIAN, facts.children) if facts.children else None
    confirmed, waiting = [], []
    for record in facts.children:
        external = next((c for c in identity.children if _child_matches(c, record)), None)
        if external is None:
            continue
        (confirmed if external.birth_cert_verified else waiting).append(record)
    if not confirmed and not waiting:
        return None
    return Role(RoleKind.GUARDIAN, tuple(confirmed), tuple(waiting))


# --- the decision ---------------------------------------------------------------------------


def decide(
    policy: Policy,
    identity: ExternalIdentity,
    candidates: tuple[RecordPerson, ...],
    facts: RecordFacts | None,
    consents: Consents,
    today: date,
    traits: ProviderTraits,
    regional_admin: bool = False,
    trusted: bool = False,
) -> Decision:
    """``candidates``: registry records near the identity; ``facts``: the roles of the one that
    matched (looked up after a first call found it), or None. A regional administrator
    (appointed by the CLI) with a confirmed account also gets the administration role, and a
    person with invitations or grants from parents (``trusted``) the trusted person's role,
    whatever the school registry says. ``traits``: those of the provider the person came
    through."""
    decision = _registry_decision(policy, identity, candidates, facts, consents, today, traits)
    extra = []
    if regional_admin and not (traits.grades_accounts and not identity.confirmed):
        extra.append(Role(RoleKind.ADMIN))
    if trusted:
        extra.append(Role(RoleKind.TRUSTED))
    if not extra:
        return decision
    if decision.granted:
        return replace(decision, outcome=Outcome.CHOOSE_ROLE, roles=(*decision.roles, *extra))
    if decision.outcome == Outcome.OWN_CONSENT_NEEDED:
        return replace(decision, roles=(*decision.roles, *extra))
    # Not in the school registry (or stopped there): the other roles alone. Reading a child's
    # diary as a trusted person needs one's own consent first, like any diary.
    if trusted and not consents.own:
        return Decision(Outcome.OWN_CONSENT_NEEDED, person_id=decision.person_id,
                        roles=tuple(extra))  # fmt: skip
    outcome = Outcome.CHOOSE_ROLE if len(extra) > 1 else Outcome.DIARY
    return Decision(outcome, person_id=decision.person_id, roles=tuple(extra))


def _registry_decision(
    policy: Policy,
    identity: ExternalIdentity,
    candidates: tuple[RecordPerson, ...],
    facts: RecordFacts | None,
    consents: Consents,
    today: date,
    traits: ProviderTraits,
) -> Decision:
    age = identity.age_on(today)
    minor = age is not None and age < policy.parent_consent_under_age
    fields = policy.match_fields
    if traits.school_issued:
        # The identity is the school's own record: compare what the record holds.
        fields = [f for f in fields if identity_values(identity)[f] is not None] or fields

    if traits.contacts_in_profile:
        missing = missing_fields(identity, fields)
        if missing:
            return Decision(Outcome.NOT_FOUND, missing=missing, is_minor=minor)
    elif traits.email_policy and policy.require_email and not identity.email:
        return Decision(Outcome.EMAIL_MISSING, is_minor=minor)

    record, differing, near = best_match(identity, candidates, fields)
    can_self_register = (
        not identity.is_child_account
        and age is not None
        and policy.self_registration_min_age <= age < policy.parent_consent_under_age
    )
    if record is None:
        if can_self_register:
            return Decision(Outcome.STUDENT_PROFILE, is_minor=minor)
        if not identity.confirmed and not identity.is_child_account and traits.grades_accounts:
            return Decision(Outcome.ACCOUNT_UNCONFIRMED, is_minor=minor)
        return Decision(
            Outcome.NOT_FOUND,
            differing=differing,
            near_id=near.id if near else None,
            is_minor=minor,
        )

    if facts is None or facts.person.id != record.id:
        raise ValueError("decide() needs the facts of the matched record")
    roles: list[Role] = []
    if facts.enrolled:
        roles.append(Role(RoleKind.STUDENT))
    guardian = guardian_role(identity, facts, traits)
    if guardian is not None:
        roles.append(guardian)
    if "teacher" in facts.staff_roles:
        roles.append(Role(RoleKind.TEACHER))
    if "school_admin" in facts.staff_roles:
        roles.append(Role(RoleKind.SCHOOL_ADMIN))

    adult_roles = any(role.kind != RoleKind.STUDENT for role in roles)
    if traits.grades_accounts and adult_roles and not identity.confirmed:
        return Decision(Outcome.ACCOUNT_UNCONFIRMED, person_id=record.id, is_minor=minor)
    if not roles:
        if can_self_register:
            return Decision(Outcome.STUDENT_PROFILE, person_id=record.id, is_minor=minor)
        return Decision(Outcome.NOT_FOUND, person_id=record.id, is_minor=minor)

    # A child's account, or a login the school issued: a guardian consents for a minor.
    by_guardian = identity.is_child_account or traits.school_issued
    if by_guardian and minor and not consents.parental:
        return Decision(
            Outcome.PARENT_CONSENT_NEEDED,
            person_id=record.id,
            roles=tuple(roles),
            ask_guardians=facts.guardian_ids,
            is_minor=True,
        )
    if not (by_guardian and minor) and not consents.own:
        return Decision(
            Outcome.OWN_CONSENT_NEEDED, person_id=record.id, roles=tuple(roles), is_minor=minor
        )
    outcome = Outcome.CHOOSE_ROLE if len(roles) > 1 else Outcome.DIARY
    return Decision(outcome, person_id=record.id, roles=tuple(roles), is_minor=minor)
