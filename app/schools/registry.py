"""Importing a region's school registry: schools, classes, people and how they are linked.

The format (docs/registry-import.md) is one record per line, as JSON Lines or as CSV, each
with a ``type``. Every line is validated and every reference resolved before anything is
written; one bad line means nothing is imported, and each problem is reported with its line.
Importing the same file twice changes nothing: records are keyed by the file's own keys.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)
from sqlalchemy import select

from app import audit
from app.extensions import db
from app.identity.types import normalize_email, normalize_name, normalize_phone, normalize_snils
from app.models import (
    Enrolment,
    Guardianship,
    Person,
    School,
    SchoolClass,
    StaffRole,
    TeacherClass,
)

Key = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def snils_is_valid(digits: str) -> bool:
    """The СНИЛС check number: Σ digit×(9−position) over the first nine, reduced mod 101."""
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits[:9]))
    check = total if total < 100 else 0 if total in (100, 101) else total % 101 % 100
    return int(digits[9:]) == check


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SchoolRecord(_Record):
    type: Literal["school"]
    key: Key
    full_name: Annotated[str, StringConstraints(min_length=5, max_length=400)]
    short_name: Annotated[str, StringConstraints(min_length=1, max_length=120)]


class ClassRecord(_Record):
    type: Literal["class"]
    school: Key
    name: Annotated[str, StringConstraints(min_length=1, max_length=16)]


class PersonRecord(_Record):
    type: Literal["person"]
    key: Key
    last_name: Name
    first_name: Name
    middle_name: Annotated[str, StringConstraints(max_length=100)] = ""
    birth_date: date | None = None
    snils: str | None = None
    email: str | None = None
    phone: str | None = None

    @field_validator("birth_date", mode="before")
    @classmethod
    def _date(cls, value: Any) -> Any:
        if isinstance(value, str) and "." in value:
            try:
                return datetime.strptime(value, "%d.%m.%Y").date()
            except ValueError:
                raise ValueError("not a date (YYYY-MM-DD or DD.MM.YYYY)") from None
        return value or None

    @field_validator("snils")
    @classmethod
    def _snils(cls, value: str | None) -> str | None:
        if not value:
            return None
        digits = normalize_snils(value)
        if digits is None:
            raise ValueError("a СНИЛС has 11 digits")
        if not snils_is_valid(digits):
            raise ValueError("the СНИЛС check number does not match")
        return digits

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value and ("@" not in value or " " in value.strip()):
            raise ValueError("not an e-mail address")
        return normalize_email(value)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        phone = normalize_phone(value)
        if value and (phone is None or len(phone) != 11):
            raise ValueError("not a Russian mobile number (+7 and ten digits)")
        return phone


PERSON_FIELDS = ("last_name", "first_name", "middle_name", "birth_date", "snils", "email", "phone")


class EnrolmentRecord(_Record):
    type: Literal["enrolment"]
    person: Key
    school: Key
    # "class" is a Python keyword; the file says class.
    class_name: Annotated[str, StringConstraints(min_length=1, max_length=16)] = Field(
        alias="class"
    )


class GuardianRecord(_Record):
    type: Literal["guardian"]
    guardian: Key
    student: Key


class StaffRecord(_Record):
    type: Literal["staff"]
    person: Key
    school: Key
    role: Literal["teacher", "school_admin"]
    # A teacher's classes in that school; in CSV one cell, names separated by ";".
    classes: list[Annotated[str, StringConstraints(min_length=1, max_length=16)]] = []

    @field_validator("classes", mode="before")
    @classmethod
    def _classes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(";") if name.strip()]
        return value


AnyRecord = Annotated[
    SchoolRecord | ClassRecord | PersonRecord | EnrolmentRecord | GuardianRecord | StaffRecord,
    Field(discriminator="type"),
]


class _Line(BaseModel):
    record: AnyRecord


@dataclass
class ImportReport:
    counts: dict[str, int] = field(default_factory=dict)


class RegistryImportError(Exception):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# --- reading -------------------------------------------------------------------------------


def read_lines(text: str, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, raw record) pairs; a line that cannot be parsed yields an error string."""
    if fmt == "jsonl":
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"not JSON: {exc.msg}"
    elif fmt == "csv":
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            if row.get("type", "").startswith("#"):
                continue
            if None in row:
                yield reader.line_num, "more cells than the header has columns"
                continue
            yield reader.line_num, {k: v for k, v in row.items() if v not in ("", None)}
    else:
        raise ValueError(f"unknown format {fmt!r}: jsonl or csv")


def _message(error: dict) -> str:
    location = ".".join(str(part) for part in error["loc"][2:]) or "type"
    if error["type"] == "union_tag_invalid":
        return "type: must be one of school, class, person, enrolment, guardian, staff"
    if error["type"] == "union_tag_not_found":
        return "type: required"
    text = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return f"{location}: {text}"


def parse(lines: Iterable[tuple[int, Any]]) -> tuple[list[tuple[int, Any]], list[str]]:
    records, problems = [], []
    for number, raw in lines:
        if isinstance(raw, str):
            problems.append(f"line {number}: {raw}")
            continue
        try:
            records.append((number, _Line.model_validate({"record": raw}).record))
        except ValidationError as exc:
            problems.extend(f"line {number}: {_message(e)}" for e in exc.errors())
    return records, problems


# --- writing -------------------------------------------------------------------------------


class _Writer:
    """Resolves keys against this file and the region's existing records, then writes."""

    def __init__(self, tenant: str):
        self.tenant = tenant
        self.problems: list[str] = []
        self.schools = {
            s.key: s for s in db.session.scalars(select(School).filter_by(tenant=tenant))
        }
        self.people = {
            p.key: p for p in db.session.scalars(select(Person).filter_by(tenant=tenant))
        }
        self.counts: dict[str, int] = {}

    def count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def school(self, number: int, key: str) -> School | None:
        school = self.schools.get(key)
        if school is None:
            self.problems.append(
                f"line {number}: school {key!r} is not in the file or the registry"
            )
        return school

    def person(self, number: int, key: str) -> Person | None:
        person = self.people.get(key)
        if person is None:
            self.problems.append(
                f"line {number}: person {key!r} is not in the file or the registry"
            )
        return person

    def school_class(self, number: int, school: School, name: str) -> SchoolClass | None:
        found = next((c for c in school.classes if c.name == name), None)
        if found is None:
            self.problems.append(f"line {number}: class {name!r} is not in school {school.key!r}")
        return found

    def write(self, number: int, record: Any) -> None:
        getattr(self, f"_{record.type}")(number, record)
        self.count(record.type)

    def _school(self, number: int, r: SchoolRecord) -> None:
        school = self.schools.get(r.key) or School(tenant=self.tenant, key=r.key, classes=[])
        school.full_name, school.short_name = r.full_name, r.short_name
        school.search_key = normalize_name(r.full_name)
        db.session.add(school)
        self.schools[r.key] = school

    def _class(self, number: int, r: ClassRecord) -> None:
        school = self.school(number, r.school)
        if school is not None and not any(c.name == r.name for c in school.classes):
            school.classes.append(SchoolClass(name=r.name))

    def _person(self, number: int, r: PersonRecord) -> None:
        person = self.people.get(r.key) or Person(tenant=self.tenant, key=r.key)
        for name in PERSON_FIELDS:
            setattr(person, name, getattr(r, name))
        person.name_key = normalize_name(f"{r.last_name} {r.first_name} {r.middle_name}")
        db.session.add(person)
        self.people[r.key] = person

    def _enrolment(self, number: int, r: EnrolmentRecord) -> None:
        person, school = self.person(number, r.person), self.school(number, r.school)
        school_class = school and self.school_class(number, school, r.class_name)
        if person is None or school_class is None:
            return
        db.session.flush()
        exists = db.session.scalar(
            select(Enrolment).filter_by(person_id=person.id, class_id=school_class.id)
        )
        if exists is None:
            db.session.add(Enrolment(person=person, school_class=school_class))
        else:
            exists.active = True

    def _guardian(self, number: int, r: GuardianRecord) -> None:
        guardian, student = self.person(number, r.guardian), self.person(number, r.student)
        if guardian is None or student is None:
            return
        if guardian is student:
            self.problems.append(f"line {number}: a person cannot be their own guardian")
            return
        db.session.flush()
        if not db.session.scalar(
            select(Guardianship).filter_by(guardian_id=guardian.id, student_id=student.id)
        ):
            db.session.add(Guardianship(guardian=guardian, student=student))

    def _staff(self, number: int, r: StaffRecord) -> None:
        person, school = self.person(number, r.person), self.school(number, r.school)
        if person is None or school is None:
            return
        db.session.flush()
        if not db.session.scalar(
            select(StaffRole).filter_by(person_id=person.id, school_id=school.id, role=r.role)
        ):
            db.session.add(StaffRole(person=person, school=school, role=r.role))
        for name in r.classes:
            school_class = self.school_class(number, school, name)
            if school_class is None:
                continue
            db.session.flush()
            if not db.session.scalar(
                select(TeacherClass).filter_by(person_id=person.id, class_id=school_class.id)
            ):
                db.session.add(TeacherClass(person_id=person.id, class_id=school_class.id))


# Records are written in dependency order whatever their order in the file.
ORDER = {"school": 0, "class": 1, "person": 2, "enrolment": 3, "guardian": 4, "staff": 5}


def import_records(tenant: str, lines: Iterable[tuple[int, Any]], *, source: str) -> ImportReport:
    """Validate and write every record, or raise RegistryImportError and write nothing."""
    records, problems = parse(lines)
    if problems:
        raise RegistryImportError(problems)
    writer = _Writer(tenant)
    try:
        for number, record in sorted(records, key=lambda item: (ORDER[item[1].type], item[0])):
            writer.write(number, record)
        if writer.problems:
            raise RegistryImportError(writer.problems)
        audit.record(
            "registry_imported", tenant=tenant, commit=False, source=source, **writer.counts
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return ImportReport(writer.counts)


def import_text(tenant: str, text: str, fmt: str, *, source: str = "") -> ImportReport:
    return import_records(tenant, read_lines(text, fmt), source=source or fmt)
