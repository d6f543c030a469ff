"""Consent to processing, as separate recorded acts (152-ФЗ): one's own, and a guardian's for
a student, with the requests that ask guardians for it. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.extensions import db
from app.models import Consent, Guardianship, Notification, Person, User

PARENTAL_REQUEST = "parental_consent_request"


def _existing(kind: str, user: User, student_id: int | None) -> Consent | None:
    return db.session.scalar(
        select(Consent).filter_by(kind=kind, user_id=user.id, student_id=student_id)
    )


# A consent's state, as its audit events record it changing.
GIVEN, WITHDRAWN = "given", "withdrawn"


def _state(consent: Consent | None) -> str | None:
    if consent is None:
        return None
    return WITHDRAWN if consent.revoked_at is not None else GIVEN


def _status_change(kind: str, before: str | None, after: str) -> list[audit.FieldChange]:
    """The field a consent act changes: ``consent.own`` or ``consent.parental``, from no
    consent, given or withdrawn to given or withdrawn (nothing when given again)."""
    return audit.changes_between({f"consent.{kind}": before}, {f"consent.{kind}": after})


def _give(kind: str, user: User, student_id: int | None) -> tuple[Consent, str | None]:
    """The one consent of its kind for (person, student): made, or given again, with its
    state before. Two submissions at once make one row: the loser of the race finds the
    winner's."""
    consent = _existing(kind, user, student_id)
    before = _state(consent)
    if consent is None:
        try:
            with db.session.begin_nested():
                consent = Consent(tenant=user.tenant, kind=kind, user_id=user.id,
                                  student_id=student_id)  # fmt: skip
                db.session.add(consent)
        except IntegrityError:
            consent = _existing(kind, user, student_id)
            before = _state(consent)
    consent.given_at, consent.revoked_at = datetime.now(UTC), None
    return consent, before


def give_own(user: User) -> Consent:
    consent, before = _give("own", user, None)
    audit.record("consent_given", tenant=user.tenant, actor_id=user.id, commit=False,
                 consent="own", user_id=user.id,
                 changes=_status_change("own", before, GIVEN))  # fmt: skip
    db.session.commit()
    return consent


def request_parental(tenant: str, student_id: int, guardian_ids: tuple[int, ...]) -> int:
    """Put a consent request in each guardian's notification centre, once; returns how many
    were new."""
    created = 0
    for guardian_id in guardian_ids:
        exists = db.session.scalar(
            select(Notification.id).filter_by(
                kind=PARENTAL_REQUEST, recipient_id=guardian_id, about_id=student_id
            )
        )
        if exists is None:
            db.session.add(Notification(tenant=tenant, recipient_id=guardian_id,
                                        kind=PARENTAL_REQUEST, about_id=student_id))  # fmt: skip
            created += 1
    if created:
        audit.record("consent_requested", commit=False, student_id=student_id, guardians=created)
    db.session.commit()
    return created


class NotAGuardian(Exception):
    pass


def give_parental(guardian: User, student_id: int) -> Consent:
    """A guardian consents for a student they are linked to in the registry."""
    linked = guardian.person_id is not None and db.session.scalar(
        select(Guardianship.id).filter_by(guardian_id=guardian.person_id, student_id=student_id)
    )
    if not linked:
        raise NotAGuardian(student_id)
    consent, before = _give("parental", guardian, student_id)
    now = datetime.now(UTC)
    for item in db.session.scalars(
        select(Notification).filter_by(kind=PARENTAL_REQUEST, about_id=student_id, resolved_at=None)
    ):
        item.resolved_at = now
    audit.record("consent_given", tenant=guardian.tenant, actor_id=guardian.id, commit=False,
                 consent="parental", student_id=student_id,
                 changes=_status_change("parental", before, GIVEN))  # fmt: skip
    db.session.commit()
    return consent


# --- consents in «Настройки аккаунта» --------------------------------------------------------


@dataclass(frozen=True)
class ConsentRow:
    consent: Consent
    # given: the student a parental consent is for; received: the guardian who gave it.
    other: str | None


def given_by(user: User) -> list[ConsentRow]:
    rows = db.session.execute(
        select(Consent, Person)
        .outerjoin(Person, Person.id == Consent.student_id)
        .where(Consent.user_id == user.id, Consent.revoked_at.is_(None))
        .order_by(Consent.given_at)
    )
    return [ConsentRow(consent, person.full_name if person else None) for consent, person in rows]


def received_by(user: User) -> list[ConsentRow]:
    """Parental consents given for this user's registry record."""
    if user.person_id is None:
        return []
    rows = db.session.execute(
        select(Consent, User.display_name)
        .join(User, User.id == Consent.user_id)
        .where(Consent.kind == "parental", Consent.student_id == user.person_id,
               Consent.tenant == user.tenant, Consent.revoked_at.is_(None))
        .order_by(Consent.given_at)
    )  # fmt: skip
    return [ConsentRow(consent, guardian) for consent, guardian in rows]


def _parental_remains(student_id: int) -> bool:
    return db.session.scalar(
        select(Consent.id).filter_by(kind="parental", student_id=student_id, revoked_at=None)
    ) is not None  # fmt: skip


def revoke(user: User, consent_id: int) -> list[User]:
    """Revoke a consent the user gave, or one given for them. Raises LookupError for any other.
    Returns the accounts that lost the consent they log in by: their sessions must end."""
    consent = db.session.get(Consent, consent_id)
    mine = consent is not None and consent.tenant == user.tenant and consent.revoked_at is None
    given = mine and consent.user_id == user.id
    received = (
        mine
        and consent.kind == "parental"
        and user.person_id is not None
        and consent.student_id == user.person_id
    )
    if not (given or received):
        raise LookupError(consent_id)
    before = _state(consent)
    consent.revoked_at = datetime.now(UTC)
    audit.record("consent_revoked", tenant=consent.tenant, actor_id=user.id, commit=False,
                 consent=consent.kind, user_id=consent.user_id, student_id=consent.student_id,
                 by=("giver" if given else "student"),
                 changes=_status_change(consent.kind, before, WITHDRAWN))  # fmt: skip
    affected: list[User] = []
    if consent.kind == "own":
        affected = [user]
    elif not _parental_remains(consent.student_id):
        own = select(Consent.user_id).filter_by(kind="own", revoked_at=None)
        affected = list(db.session.scalars(
            select(User).where(User.tenant == user.tenant, User.person_id == consent.student_id,
                               User.id.not_in(own))
        ))  # fmt: skip
    db.session.commit()
    return affected
