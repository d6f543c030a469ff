"""Consent to processing, as separate recorded acts (152-ФЗ): one's own, and a guardian's for
a student, with the requests that ask guardians for it. Every change is audited."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app import audit
from app.extensions import db
from app.models import Consent, Guardianship, Notification, User

PARENTAL_REQUEST = "parental_consent_request"


def _existing(kind: str, user: User, student_id: int | None) -> Consent | None:
    return db.session.scalar(
        select(Consent).filter_by(kind=kind, user_id=user.id, student_id=student_id)
    )


def _give(kind: str, user: User, student_id: int | None) -> Consent:
    consent = _existing(kind, user, student_id)
    if consent is None:
        consent = Consent(tenant=user.tenant, kind=kind, user_id=user.id, student_id=student_id)
        db.session.add(consent)
    consent.given_at, consent.revoked_at = datetime.now(UTC), None
    return consent


def give_own(user: User) -> Consent:
    consent = _give("own", user, None)
    audit.record("consent_given", actor_id=user.id, commit=False, consent="own")
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
    consent = _give("parental", guardian, student_id)
    now = datetime.now(UTC)
    for item in db.session.scalars(
        select(Notification).filter_by(kind=PARENTAL_REQUEST, about_id=student_id, resolved_at=None)
    ):
        item.resolved_at = now
    audit.record("consent_given", actor_id=guardian.id, commit=False, consent="parental",
                 student_id=student_id)  # fmt: skip
    db.session.commit()
    return consent
