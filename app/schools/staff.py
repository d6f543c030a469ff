"""What a school administrator may see and do: only their own school's students."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Enrolment, PasswordCredential, Person, SchoolClass, StaffRole, User


def schools_of(user: User) -> list[int]:
    if user.person_id is None:
        return []
    return list(db.session.scalars(
        select(StaffRole.school_id).filter_by(person_id=user.person_id, role="school_admin")
    ))  # fmt: skip


@dataclass(frozen=True)
class StudentRow:
    person_id: int
    full_name: str
    class_name: str
    login: str | None
    must_change: bool


def students_of(user: User) -> list[StudentRow]:
    """One query: the students of the user's schools with their credentials, if any."""
    rows = db.session.execute(
        select(Person, SchoolClass.name, PasswordCredential)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .outerjoin(PasswordCredential, PasswordCredential.person_id == Person.id)
        .where(SchoolClass.school_id.in_(schools_of(user)), Enrolment.active,
               Person.tenant == user.tenant)
        .order_by(SchoolClass.name, Person.last_name, Person.first_name)
    )  # fmt: skip
    return [
        StudentRow(
            person.id,
            person.full_name,
            class_name,
            cred.login if cred else None,
            bool(cred and cred.must_change),
        )
        for person, class_name, cred in rows
    ]


def student_of(user: User, person_id: int) -> Person | None:
    """The student, if enrolled in one of the user's schools; otherwise as good as absent."""
    return db.session.scalar(
        select(Person)
        .join(Enrolment, Enrolment.person_id == Person.id)
        .join(SchoolClass, SchoolClass.id == Enrolment.class_id)
        .where(Person.id == person_id, Person.tenant == user.tenant, Enrolment.active,
               SchoolClass.school_id.in_(schools_of(user)))
        .limit(1)
    )  # fmt: skip
