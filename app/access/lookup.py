"""Gathering the decision's inputs from the database: candidate records, roles, consents.

Candidates are fetched by the indexed, normalised columns — never by scanning a region.
"""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import Select, bindparam, or_, select, union

from app.database import Prepared
from app.extensions import db
from app.identity.types import ExternalIdentity, ProviderTraits
from app.models import (
    Consent,
    Enrolment,
    Guardianship,
    Person,
    RegionalAdmin,
    StaffRole,
    TrustedGrant,
    User,
)
from app.models.trusted import ACCEPTED, SENT
from app.tenants import Tenant

from .decision import (
    Consents,
    Decision,
    RecordChild,
    RecordFacts,
    RecordPerson,
    best_match,
    decide,
    identity_values,
)

CANDIDATE_LIMIT = 20


def record_of(person: Person) -> RecordPerson:
    return RecordPerson(
        id=person.id,
        name_key=person.name_key,
        birth_date=person.birth_date,
        snils=person.snils,
        email=person.email,
        phone=person.phone,
    )


def candidates(tenant: Tenant, identity: ExternalIdentity) -> tuple[RecordPerson, ...]:
    """The records that may be this person's: every record with their exact СНИЛС, e-mail or
    phone, and with their name and birth date, whatever the number of namesakes; then up to
    ``CANDIDATE_LIMIT`` more namesakes (for telling them which field differs). Each part is
    its own indexed lookup with its own limit, so common names cannot crowd out an exact
    identifier."""
    statement, parameters = candidates_statement(tenant, identity)
    return tuple(record_of(person) for person in db.session.scalars(statement, parameters))


def candidates_statement(tenant: Tenant, identity: ExternalIdentity) -> tuple[Select, dict]:
    """The candidates' statement for what this provider gave, and its parameters."""
    values = identity_values(identity)
    given = tuple(field for field in EXACT_FIELDS if values[field])
    if values["birth_date"] is not None:
        given += ("birth_date",)
    parameters = {field: values[field] for field in given}
    parameters.update(tenant=tenant.slug, name=values["full_name"])
    return _candidates_query(given), parameters


EXACT_FIELDS = ("snils", "email", "phone")


@functools.cache
def _candidates_query(given: tuple[str, ...]):
    """The candidates' statement for the identifiers a provider gave (at most 16 shapes),
    built once with bound parameters: every login runs one."""
    region = Person.tenant == bindparam("tenant")
    name = Person.name_key == bindparam("name")
    exact = [getattr(Person, field) == bindparam(field) for field in given if field in EXACT_FIELDS]
    if "birth_date" in given:
        exact.append(name & (Person.birth_date == bindparam("birth_date")))
    parts = [
        select(Person.id).where(region, condition).order_by(Person.id).limit(CANDIDATE_LIMIT)
        for condition in [*exact, name]
    ]
    ids = union(*(select(part.subquery().c.id) for part in parts))
    return select(Person).where(Person.id.in_(ids.scalar_subquery())).order_by(Person.id)


# The decision's statements, built once with bound parameters: every login runs them. Those
# that read columns only are prepared (app.database.Prepared) from the tables' columns.
_consent, _enrolment, _guardianship, _admin, _staff, _grant = (
    model.__table__
    for model in (Consent, Enrolment, Guardianship, RegionalAdmin, StaffRole, TrustedGrant)
)
_ENROLLED = Prepared(
    select(_enrolment.c.id)
    .where(_enrolment.c.person_id == bindparam("person"), _enrolment.c.active)
    .limit(1)
)
_CHILDREN = (
    select(Person, Enrolment.id)
    .join(Guardianship, Guardianship.student_id == Person.id)
    .outerjoin(Enrolment, (Enrolment.person_id == Person.id) & Enrolment.active)
    .where(Guardianship.guardian_id == bindparam("person"))
    .order_by(Person.birth_date)
)
_STAFF = Prepared(select(_staff.c.role).where(_staff.c.person_id == bindparam("person")))
_GUARDIANS = Prepared(
    select(_guardianship.c.guardian_id).where(_guardianship.c.student_id == bindparam("person"))
)
_OWN_CONSENT = Prepared(select(_consent.c.id).where(
    _consent.c.kind == "own",
    _consent.c.user_id == bindparam("user"),
    _consent.c.revoked_at.is_(None),
))  # fmt: skip
_PARENTAL_CONSENT = Prepared(select(_consent.c.id).where(
    _consent.c.kind == "parental",
    _consent.c.student_id == bindparam("person"),
    _consent.c.revoked_at.is_(None),
))  # fmt: skip
_REGIONAL_ADMIN = Prepared(select(_admin.c.id).where(
    _admin.c.tenant == bindparam("tenant"), _admin.c.user_id == bindparam("user")
))  # fmt: skip
_TRUSTED = Prepared(
    select(_grant.c.id)
    .where(
        _grant.c.tenant == bindparam("tenant"),
        _grant.c.invitee_id == bindparam("user"),
        # Two comparisons rather than IN: a list would be compiled again for every login.
        or_(_grant.c.status == SENT, _grant.c.status == ACCEPTED),
    )
    .limit(1)
)


def facts_of(record: RecordPerson) -> RecordFacts:
    person = {"person": record.id}
    enrolled = _ENROLLED.scalar(person)
    children = db.session.execute(_CHILDREN, person).all()
    unique_children = {child.id: (child, enrolment) for child, enrolment in children}
    staff = [role for (role,) in _STAFF.all(person)]
    guardians = [guardian for (guardian,) in _GUARDIANS.all(person)]
    return RecordFacts(
        person=record,
        enrolled=enrolled is not None,
        children=tuple(
            RecordChild(record_of(child), child.full_name, enrolment is not None)
            for child, enrolment in unique_children.values()
        ),
        staff_roles=tuple(sorted(set(staff))),
        guardian_ids=tuple(sorted(guardians)),
    )


def consents_of(user: User, record: RecordPerson | None) -> Consents:
    own = _OWN_CONSENT.scalar({"user": user.id})
    parental = record is not None and _PARENTAL_CONSENT.scalar({"person": record.id})
    return Consents(own=own is not None, parental=bool(parental))


def is_regional_admin(user: User) -> bool:
    if user.id is None:
        return False
    found = _REGIONAL_ADMIN.scalar({"tenant": user.tenant, "user": user.id})
    return found is not None


def has_trusted_grants(tenant: Tenant, user: User) -> bool:
    """Invitations waiting for an answer, or grants accepted and not ended."""
    if not tenant.policy.trusted_persons.enabled or user.id is None:
        return False
    found = _TRUSTED.scalar({"tenant": tenant.slug, "user": user.id})
    return found is not None


def evaluate(
    tenant: Tenant, identity: ExternalIdentity, user: User, today: date, *, traits: ProviderTraits
) -> Decision:
    """``traits``: those of the provider the person came through, which decide the rules."""
    near = candidates(tenant, identity)
    fields = tenant.policy.match_fields
    record, _, _ = best_match(identity, near, fields)
    facts = facts_of(record) if record is not None else None
    return decide(
        tenant.policy,
        identity,
        near,
        facts,
        consents_of(user, record),
        today,
        traits=traits,
        regional_admin=is_regional_admin(user),
        trusted=has_trusted_grants(tenant, user),
    )
