"""Whose diary the signed-in person may open, read from the registry on every request.

The session says which roles and children the login's access decision found; the registry
is asked again each time, so a link the school removes ends access on the next request.
Each function is one query, whatever the number of children.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select

from app import trusted
from app.database import Prepared
from app.extensions import db
from app.models import Enrolment, Guardianship, Person, School, SchoolClass, TeacherClass, User
from app.wording import class_order

from . import Student

if TYPE_CHECKING:
    from app.signin import RoleAccess


# A diary page runs one of these queries on every view: prepared once (app.database.Prepared)
# from the tables' own columns.
_person, _class, _school, _enrolment, _guardianship = (
    model.__table__ for model in (Person, SchoolClass, School, Enrolment, Guardianship)
)
_NAMED = ("id", "tenant", "key", "last_name", "first_name", "middle_name")
STUDENT = (*(_person.c[name] for name in _NAMED), _class.c.name, _school.c.short_name)


def _students(rows, order: Sequence[int] | None = None) -> list[Student]:
    """Students of ``STUDENT`` rows. ``order``: the ids in the order wanted (those missing
    are left out); None: as found."""
    found: dict[int, Student] = {}
    for id_, tenant, key, last, first, middle, class_name, school in rows:
        if id_ not in found:
            name = " ".join(part for part in (last, first, middle) if part)
            found[id_] = Student(id_, f"{tenant}:{key}", name, class_name, school)
    if order is None:
        return list(found.values())
    return [found[i] for i in order if i in found]


def _with_class(query):
    return (
        query.outerjoin(_enrolment, (_enrolment.c.person_id == _person.c.id) & _enrolment.c.active)
        .outerjoin(_class, _class.c.id == _enrolment.c.class_id)
        .outerjoin(_school, _school.c.id == _class.c.school_id)
        .order_by(_person.c.id, _enrolment.c.id)
    )


def own_record(user: User) -> Student | None:
    if user.person_id is None:
        return None
    found = _students(_OWN.all({"person": user.person_id, "tenant": user.tenant}))
    return found[0] if found else None


# Every diary view of a student runs the first, of a parent the second. The second reads all
# the children the registry links to the guardian (a family's few) and the caller keeps those
# it asks for: a list of ids in the SQL would be compiled again for every view.
_OWN = Prepared(_with_class(select(*STUDENT)).where(
    _person.c.id == bindparam("person"), _person.c.tenant == bindparam("tenant")
))  # fmt: skip
_LINKED = Prepared(_with_class(
    select(*STUDENT).join(
        _guardianship,
        (_guardianship.c.student_id == _person.c.id)
        & (_guardianship.c.guardian_id == bindparam("guardian")),
    )
).where(_person.c.tenant == bindparam("tenant")))  # fmt: skip


def linked_children(user: User, ids: Sequence[int]) -> list[Student]:
    """Of ``ids``, the children the registry still links to this guardian, in that order."""
    if user.person_id is None or not ids:
        return []
    return _students(_LINKED.all({"guardian": user.person_id, "tenant": user.tenant}), ids)


def trusted_children(user: User) -> list[Student]:
    """The children a trusted person may read now, decided in the same query."""
    query = _with_class(select(*STUDENT)).where(
        Person.id.in_(trusted.readable_children_clause(user, trusted.now())),
        Person.tenant == user.tenant,
    )
    return _students(db.session.execute(query))


@dataclass(frozen=True)
class TaughtClass:
    school: str
    name: str


def taught_classes(user: User) -> list[TaughtClass]:
    if user.person_id is None:
        return []
    rows = db.session.execute(
        select(School.short_name, SchoolClass.name)
        .join(SchoolClass, SchoolClass.school_id == School.id)
        .join(TeacherClass, TeacherClass.class_id == SchoolClass.id)
        .where(TeacherClass.person_id == user.person_id, School.tenant == user.tenant)
    )
    # By school, then as classes are counted (2А before 11А), not as text.
    ordered = sorted(rows, key=lambda row: (row[0], class_order(row[1])))
    return [TaughtClass(school, name) for school, name in ordered]


@dataclass(frozen=True)
class DiaryPage:
    """What a diary page shows: the student on screen, the others to switch to, the week.
    Immutable all the way down, so that the page itself can key its rendered HTML."""

    student: Student | None
    children: tuple[Student, ...]
    waiting: tuple[Student, ...]
    week: object = None
    term_marks: tuple = ()
    # Why there is no diary to show (a trusted person whose access ended or has not begun).
    notice: str | None = None


class NotYours(LookupError):
    """A diary the person may not see: answered as if it did not exist."""


def _chosen(children: list[Student], child_id: int | None) -> Student | None:
    if child_id is None:
        return children[0] if children else None
    student = next((c for c in children if c.id == child_id), None)
    if student is None:
        raise NotYours(child_id)
    return student


def diary_page(
    backend, user: User, role: RoleAccess, child_id: int | None, monday: date, now: datetime
) -> DiaryPage:
    """``role``: the role the person acts in (kind, children, waiting); ``child_id``: the
    child asked for, or None for the first; ``now``: the school's local time."""
    if role.kind == "student":
        student, children, waiting = own_record(user), [], []
        if student is None:
            raise NotYours(user.person_id)
    elif role.kind == "trusted":
        children, waiting = trusted_children(user), []
        student = _chosen(children, child_id)
    else:
        everyone = linked_children(user, [*role.children, *role.waiting])
        children = [c for c in everyone if c.id in role.children]
        waiting = [c for c in everyone if c.id in role.waiting]
        student = _chosen(children, child_id)
    children, waiting = tuple(children), tuple(waiting)
    if student is None:
        return DiaryPage(None, children, waiting)
    week = backend.week(student, monday, now)
    until = min(monday + timedelta(days=4), now.date())
    marks = backend.term_marks(student, until, now)
    return DiaryPage(student, children, waiting, week, marks)
