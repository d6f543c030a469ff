"""Gathering the decision's inputs from the database: candidate records, roles, consents.

Candidates are fetched by the indexed, normalised columns — never by scanning a region.
"""

from __future__ import annotations

import functools
from datetime import date

from sqlalchemy import bindparam, or_, select, union

from app.database import Prepared
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
from app.models.registry import full_name_of
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


# A record's columns as the decision compares them (RecordPerson's fields, in order): read as
# columns, never as the ORM's objects, by every login.
_person = Person.__table__
_RECORD = tuple(_person.c[name] for name in
                ("id", "name_key", "birth_date", "snils", "email", "phone"))  # fmt: skip


def candidates(tenant: Tenant, identity: ExternalIdentity) -> tuple[RecordPerson, ...]:
    """The records that may be this person's: every record with their exact СНИЛС, e-mail or
    phone, and with their name and birth date, whatever the number of namesakes; then up to
    ``CANDIDATE_LIMIT`` more namesakes (for telling them which field differs). Each part is
    its own indexed lookup with its own limit, so common names cannot crowd out an exact
    identifier."""
    statement, parameters = candidates_statement(tenant, identity)
    return tuple(RecordPerson(*row) for row in statement.all(parameters))


def candidates_statement(tenant: Tenant, identity: ExternalIdentity) -> tuple[Prepared, dict]:
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
def _candidates_query(given: tuple[str, ...]) -> Prepared:
    """The candidates' statement for the identifiers a provider gave (at most 16 shapes),
    prepared once (app.database.Prepared): every login runs one."""
    region = _person.c.tenant == bindparam("tenant")
    name = _person.c.name_key == bindparam("name")
    exact = [_person.c[field] == bindparam(field) for field in given if field in EXACT_FIELDS]
    if "birth_date" in given:
        exact.append(name & (_person.c.birth_date == bindparam("birth_date")))
    parts = [
        select(_person.c.id).where(region, condition).order_by(_person.c.id)
        .limit(CANDIDATE_LIMIT)
        for condition in [*exact, name]
    ]  # fmt: skip
    ids = union(*(select(part.subquery().c.id) for part in parts))
    return Prepared(
        select(*_RECORD).where(_person.c.id.in_(ids.scalar_subquery())).order_by(_person.c.id)
    )


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
# A guardian's children: each one's record and name, and an active enrolment's id if any.
_CHILDREN = Prepared(
    select(*_RECORD, _person.c.last_name, _person.c.first_name, _person.c.middle_name,
           _enrolment.c.id)
    .join(_guardianship, _guardianship.c.student_id == _person.c.id)
    .outerjoin(_enrolment, (_enrolment.c.person_id == _person.c.id) & _enrolment.c.active)
    .where(_guardianship.c.guardian_id == bindparam("person"))
    .order_by(_person.c.birth_date)
)  # fmt: skip
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
    width = len(_RECORD)
    # A child with two active enrolments comes twice: once is enough.
    children = {row[0]: row for row in _CHILDREN.all(person)}
    staff = [role for (role,) in _STAFF.all(person)]
    guardians = [guardian for (guardian,) in _GUARDIANS.all(person)]
    return RecordFacts(
        person=record,
        enrolled=enrolled is not None,
        children=tuple(
            RecordChild(
                RecordPerson(*row[:width]), full_name_of(*row[width:-1]), row[-1] is not None
            )
            for row in children.values()
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
