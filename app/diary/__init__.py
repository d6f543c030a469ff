"""The diary's data behind one interface: a school's journal system plugs in as a backend.

The portal asks a backend for a student's week (schedule, marks, homework) and for their
marks over a term; it never stores them. ``StubDiary`` generates believable data, the same
for the same student and week on every worker and every run, so demos and tests agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from babel.numbers import format_decimal
from markupsafe import Markup

from app import i18n
from app.i18n import gettext as _

from .calendar import Term, monday_of, parse_week, term_of, week_label
from .charts import Sparkline, mark_badges, sparkline


@dataclass(frozen=True)
class Student:
    """What a backend is told about a student: the registry's ids and the class."""

    id: int
    key: str
    full_name: str
    class_name: str | None
    school: str | None


@dataclass(frozen=True)
class Lesson:
    number: int
    starts: str
    ends: str
    subject: str
    topic: str
    homework: str
    marks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Day:
    day: date
    lessons: tuple[Lesson, ...] = ()
    # Why there are no lessons: «Каникулы», «Выходной», a public holiday (a lazy text: the
    # day is kept and shown in whichever language the page is in).
    off: str | None = None


@dataclass(frozen=True)
class Week:
    monday: date
    days: tuple[Day, ...]
    term: Term | None

    @property
    def label(self) -> str:
        return week_label(self.monday)

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)


@dataclass(frozen=True)
class SubjectMarks:
    subject: str
    marks: tuple[tuple[date, int], ...]

    @property
    def average(self) -> float | None:
        if not self.marks:
            return None
        return sum(mark for _day, mark in self.marks) / len(self.marks)

    @property
    def average_text(self) -> str:
        """«4,25» (in English «4.25»); «—» before the first mark."""
        if self.average is None:
            return "—"
        # Rounded as "%.2f" rounds, then written with the page's decimal sign.
        return format_decimal(float(f"{self.average:.2f}"), "0.00", locale=i18n.locale())

    @property
    def chart(self) -> Sparkline:
        return sparkline([mark for _day, mark in self.marks])

    @property
    def badges(self) -> Markup:
        return mark_badges(mark for _day, mark in self.marks)

    @property
    def chart_svg(self) -> Markup:
        found = ", ".join(str(mark) for _day, mark in self.marks) or _("оценок пока нет")
        return self.chart.svg(f"{self.subject}: {found}")


class DiaryBackend(Protocol):
    """A journal system, as the diary pages see it. ``now``: the school's local time; a lesson
    that has not ended by then has no marks yet."""

    def week(self, student: Student, monday: date, now: datetime) -> Week:
        """The school week that starts on ``monday``: its five school days, Monday to Friday."""

    def term_marks(self, student: Student, until: date, now: datetime) -> tuple[SubjectMarks, ...]:
        """Each subject's marks from the start of the term containing ``until`` up to it."""


__all__ = [
    "Day",
    "DiaryBackend",
    "Lesson",
    "Student",
    "SubjectMarks",
    "Term",
    "Week",
    "monday_of",
    "parse_week",
    "term_of",
]
