"""The school year's calendar: terms (четверти), holidays and ISO weeks.

Term dates follow the usual Russian calendar; a region's own dates would come with its
journal system, so the stub's approximation lives here and nowhere else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from babel.dates import format_date

from app import i18n
from app.i18n import gettext as _
from app.i18n import lazy_gettext as _l

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
# Public holidays that fall in term time. Lazy, like the other reasons for a day without
# lessons: a journal's day is kept by the worker (app.diary.stub) and read in any language.
HOLIDAYS = {(11, 4): _l("День народного единства"), (2, 23): _l("День защитника Отечества"),
            (3, 8): _l("Международный женский день"), (5, 1): _l("Праздник Весны и Труда"),
            (5, 9): _l("День Победы")}  # fmt: skip
WEEKEND, SCHOOL_HOLIDAYS = _l("Выходной"), _l("Каникулы")


@dataclass(frozen=True)
class Term:
    number: int
    starts: date
    ends: date

    @property
    def name(self) -> str:
        """«2-я четверть», in the page's language (the diary's marks heading says the term
        in a sentence of its own: «Оценки за 2-ю четверть»)."""
        return _("%(num)d-я четверть", num=self.number)


def terms(school_year: int) -> tuple[Term, ...]:
    """The four terms of the school year that starts in September of ``school_year``."""
    y, n = school_year, school_year + 1
    return (
        Term(1, date(y, 9, 1), date(y, 10, 25)),
        Term(2, date(y, 11, 5), date(y, 12, 28)),
        Term(3, date(n, 1, 12), date(n, 3, 22)),
        Term(4, date(n, 4, 1), date(n, 5, 26)),
    )


def term_of(day: date) -> Term | None:
    """The term ``day`` falls in, or None in the holidays."""
    school_year = day.year if day.month >= 9 else day.year - 1
    return next((t for t in terms(school_year) if t.starts <= day <= t.ends), None)


def day_off(day: date) -> str | None:
    """Why ``day`` has no lessons, or None: a lazy text, put in the page's language when shown."""
    if day.weekday() >= 5:
        return WEEKEND
    if (day.month, day.day) in HOLIDAYS:
        return HOLIDAYS[(day.month, day.day)]
    if term_of(day) is None:
        return SCHOOL_HOLIDAYS
    return None


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def parse_week(text: str | None, today: date) -> date | None:
    """``2026-W47`` → that week's Monday; no text → this week's; anything else → None."""
    if not text:
        return monday_of(today)
    match = WEEK_RE.match(text)
    if match is None:
        return None
    year, week = int(match[1]), int(match[2])
    if not 2000 <= year <= 2100:
        return None
    try:
        return date.fromisocalendar(year, week, 1)
    except ValueError:
        return None


def week_param(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def human_date(day: date) -> str:
    """«23 ноября», «23 November», in the page's language."""
    return format_date(day, "d MMMM", locale=i18n.locale())


def week_label(monday: date) -> str:
    friday = monday + timedelta(days=4)
    return f"{human_date(monday)} — {human_date(friday)} {friday.year}"
