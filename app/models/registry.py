"""The school registry: schools, classes, people, enrolments, guardians and staff.

What a region loads from its school information system (``flask registry import``). People
here are the school's records, not accounts: an account (``User``) is linked to a record when
the access decision matches them. Normalised copies of the matching fields are stored so the
lookup is an indexed query, never a scan.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base


class School(Base):
    __tablename__ = "school"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    # The full legal name as in ЕГРЮЛ: what a student searches by.
    full_name: Mapped[str] = mapped_column(String(400))
    short_name: Mapped[str] = mapped_column(String(120))
    # normalize_name() of the full name: what the search by name compares.
    search_key: Mapped[str] = mapped_column(String(400), default="")
    classes: Mapped[list[SchoolClass]] = relationship(back_populates="school")

    __table_args__ = (UniqueConstraint("tenant", "key"),)


class SchoolClass(Base):
    __tablename__ = "school_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(16))
    school: Mapped[School] = relationship(back_populates="classes")

    __table_args__ = (UniqueConstraint("school_id", "name"),)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(64))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    middle_name: Mapped[str] = mapped_column(String(100), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    snils: Mapped[str | None] = mapped_column(String(11))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(15))
    # normalize_name() of "last first middle": case, spaces and ё do not matter.
    name_key: Mapped[str] = mapped_column(String(310))

    enrolments: Mapped[list[Enrolment]] = relationship(back_populates="person")

    __table_args__ = (
        UniqueConstraint("tenant", "key"),
        Index("ix_person_tenant_snils", "tenant", "snils"),
        # Namesakes in id order, so "the first 20 of this name" stops at 20; and the name with
        # its birth date (app/access/lookup.py).
        Index("ix_person_tenant_name_key_id", "tenant", "name_key", "id"),
        Index("ix_person_tenant_name_key_birth_date", "tenant", "name_key", "birth_date"),
        Index("ix_person_tenant_email", "tenant", "email"),
        Index("ix_person_tenant_phone", "tenant", "phone"),
    )

    @property
    def full_name(self) -> str:
        return full_name_of(self.last_name, self.first_name, self.middle_name)


def full_name_of(last: str, first: str, middle: str | None) -> str:
    """«Фамилия Имя Отчество», the parts there are."""
    return " ".join(part for part in (last, first, middle) if part)


class Enrolment(Base):
    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(default=True)
    person: Mapped[Person] = relationship(back_populates="enrolments")
    school_class: Mapped[SchoolClass] = relationship()

    __table_args__ = (UniqueConstraint("person_id", "class_id"),)


class Guardianship(Base):
    __tablename__ = "guardianship"

    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), index=True
    )
    student_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    guardian: Mapped[Person] = relationship(foreign_keys=[guardian_id])
    student: Mapped[Person] = relationship(foreign_keys=[student_id])

    __table_args__ = (UniqueConstraint("guardian_id", "student_id"),)


class StaffRole(Base):
    __tablename__ = "staff_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))  # teacher, school_admin
    person: Mapped[Person] = relationship()
    school: Mapped[School] = relationship()

    __table_args__ = (UniqueConstraint("person_id", "school_id", "role"),)


class TeacherClass(Base):
    """A class a teacher teaches: what the teacher's diary page lists."""

    __tablename__ = "teacher_class"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("school_class.id", ondelete="CASCADE"))
    school_class: Mapped[SchoolClass] = relationship()

    __table_args__ = (UniqueConstraint("person_id", "class_id"),)
