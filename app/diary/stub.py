"""A stand-in journal system: a believable timetable, marks and homework for any student.

Everything is derived from a hash of (student or class, date, lesson), never from Python's
``hash()`` or the clock, so every worker, every run and every test sees the same diary.
A day's lessons never change, so each worker keeps the most recent days it computed: the
term's marks cost one hash round per new school day, not one per day since the term began.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from functools import lru_cache

from . import Day, Lesson, Student, SubjectMarks, Week
from .calendar import day_off, term_of

BELLS = (("08:30", "09:15"), ("09:25", "10:10"), ("10:30", "11:15"), ("11:35", "12:20"),
         ("12:30", "13:15"), ("13:25", "14:10"), ("14:20", "15:05"))  # fmt: skip

# The journal's own data (subjects, topics, homework): a real journal system sends it in its
# own words, so none of it is translated here.
PRIMARY = (  # i18n-exempt: the journal's data
    "Русский язык", "Литературное чтение", "Математика", "Окружающий мир", "Английский язык",
    "Музыка", "Изобразительное искусство", "Физическая культура", "Технология",
)  # fmt: skip
MIDDLE = (  # i18n-exempt: the journal's data
    "Русский язык", "Литература", "Математика", "История", "География", "Биология",
    "Английский язык", "Физическая культура", "Музыка", "Технология",
)  # fmt: skip
SENIOR = (  # i18n-exempt: the journal's data
    "Русский язык", "Литература", "Алгебра", "Геометрия", "История", "Обществознание",
    "География", "Биология", "Физика", "Химия", "Информатика", "Английский язык",
    "Физическая культура", "Основы безопасности и защиты Родины",
)  # fmt: skip

TOPICS = {  # i18n-exempt: the journal's data (lesson topics)
    "Русский язык": ("Правописание приставок", "Сложноподчинённое предложение",
                     "Причастный оборот", "Безударные гласные в корне"),
    "Математика": ("Дроби", "Уравнения", "Проценты", "Площадь прямоугольника"),
    "Алгебра": ("Квадратные уравнения", "Функции и графики", "Неравенства"),
    "Геометрия": ("Подобие треугольников", "Теорема Пифагора", "Окружность"),
    "Литература": ("Лирика А. С. Пушкина", "Басни И. А. Крылова", "Повесть Н. В. Гоголя"),
    "Литературное чтение": ("Русские народные сказки", "Стихи о природе"),
    "История": ("Древняя Русь", "Эпоха Петра I", "Античный мир"),
    "Английский язык": ("Present Simple", "My family", "Past Simple"),
}  # fmt: skip
HOMEWORK = {  # i18n-exempt: the journal's data (homework)
    "Русский язык": "§ {a}, упр. {b}",
    "Математика": "№ {a}, {b}",
    "Алгебра": "№ {a}–{b}",
    "Геометрия": "№ {a}, повторить теоремы",
    "Литература": "Прочитать стр. {a}–{b}",
    "Литературное чтение": "Выразительное чтение, стр. {a}",
    "Английский язык": "Ex. {a}, p. {b}",
    "История": "§ {a}, вопросы в конце параграфа",
}
NO_HOMEWORK = (  # i18n-exempt: the journal's data
    "Физическая культура", "Музыка", "Изобразительное искусство", "Технология",
)  # fmt: skip
# A subject without topics of its own, and a lesson without homework of its own.
NEW_TOPIC = "{subject}: новая тема"  # i18n-exempt: the journal's data
REVISION = "{subject}: повторение"  # i18n-exempt: the journal's data
REVISE_THE_LESSON = "Повторить тему урока"  # i18n-exempt: the journal's data
# How often a lesson brings a mark, and how marks fall (5 is the best).
MARK_CHANCE = 0.35
MARK_WEIGHTS = ((5, 35), (4, 40), (3, 20), (2, 5))


def _number(*parts: object) -> int:
    text = "|".join(str(part) for part in parts).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def _fraction(*parts: object) -> float:
    return _number(*parts) / 2**64


def grade_of(class_name: str | None) -> int:
    match = re.match(r"\d+", class_name or "")
    return min(max(int(match[0]), 1), 11) if match else 5


# Days kept per worker (a few MB): a week of some hundreds of students, or a term of dozens.
DAYS_KEPT = 4096


class StubDiary:
    """``mark_chance``: share of lessons with a mark (tests raise it to make more marks)."""

    def __init__(self, mark_chance: float = MARK_CHANCE):
        self.mark_chance = mark_chance
        self._day = lru_cache(maxsize=DAYS_KEPT)(self._compute_day)
        # Today's and later days as shown at a minute, and terms' tables: kept as well.
        self._pending = lru_cache(maxsize=DAYS_KEPT)(self._compute_pending)
        self._term = lru_cache(maxsize=DAYS_KEPT // 8)(self._compute_term)

    # --- the timetable is the class's; marks are the student's ----------------------------

    def subjects(self, student: Student) -> tuple[str, ...]:
        grade = grade_of(student.class_name)
        return PRIMARY if grade <= 4 else MIDDLE if grade <= 8 else SENIOR

    def timetable(self, student: Student, weekday: int) -> tuple[str, ...]:
        subjects = self.subjects(student)
        grade = grade_of(student.class_name)
        count = 4 + (weekday % 2) if grade <= 4 else 6 if grade <= 8 else 7
        klass = (student.school, student.class_name)
        order = sorted(subjects, key=lambda s: _number("timetable", klass, weekday, s))
        return tuple(order[:count])

    def _marks(self, student: Student, day: date, number: int, subject: str) -> tuple[int, ...]:
        if _fraction("mark?", student.key, day, number) >= self.mark_chance:
            return ()
        # Each student is stronger in some subjects than in others.
        skill = _fraction("skill", student.key, subject) * 30 - 15
        roll = _fraction("mark", student.key, day, number) * 100 - skill
        threshold = 0.0
        for mark, weight in MARK_WEIGHTS:
            threshold += weight
            if roll < threshold:
                return (mark,)
        return (MARK_WEIGHTS[-1][0],)

    def _lesson(self, student: Student, day: date, number: int, subject: str) -> Lesson:
        klass = (student.school, student.class_name)
        general = (NEW_TOPIC.format(subject=subject), REVISION.format(subject=subject))
        topics = TOPICS.get(subject, general)
        topic = topics[_number("topic", klass, day, number) % len(topics)]
        homework = ""
        if subject not in NO_HOMEWORK:
            a, b = 1 + _number("a", klass, day, number) % 60, 1 + _number("b", klass, day) % 300
            homework = HOMEWORK.get(subject, REVISE_THE_LESSON).format(a=a, b=b)
        starts, ends = BELLS[number - 1]
        marks = self._marks(student, day, number, subject)
        return Lesson(number, starts, ends, subject, topic, homework, marks)

    def _compute_day(self, student: Student, day: date) -> Day:
        off = day_off(day)
        if off:
            return Day(day, off=off)
        subjects = self.timetable(student, day.weekday())
        return Day(day, tuple(self._lesson(student, day, n, s) for n, s in enumerate(subjects, 1)))

    # --- DiaryBackend ----------------------------------------------------------------------

    def week(self, student: Student, monday: date, now: datetime) -> Week:
        days = tuple(self._day_at(student, monday + timedelta(days=i), now) for i in range(5))
        return Week(monday, days, term_of(monday + timedelta(days=4)) or term_of(monday))

    def term_marks(self, student: Student, until: date, now: datetime) -> tuple[SubjectMarks, ...]:
        # Only a term that reaches today depends on the clock (the lessons of today that
        # have ended); every other answer is the same all day.
        today = now.date() if now.date() <= until else None
        return self._term(student, until, today, _clock(now) if today else "")

    # --- as the journal shows it at a moment -----------------------------------------------

    def _day_at(self, student: Student, day: date, now: datetime) -> Day:
        if day < now.date():
            return self._day(student, day)
        return self._pending(student, day, _clock(now) if day == now.date() else "")

    def _compute_pending(self, student: Student, day: date, clock: str) -> Day:
        return _as_of(self._day(student, day), clock)

    def _compute_term(
        self, student: Student, until: date, today: date | None, clock: str
    ) -> tuple[SubjectMarks, ...]:
        term = term_of(until)
        if term is None:
            return ()
        marks: dict[str, list[tuple[date, int]]] = {s: [] for s in self.subjects(student)}
        day = term.starts
        while day <= min(until, term.ends):
            if today is None or day < today:
                shown = self._day(student, day)
            else:
                shown = self._pending(student, day, clock if day == today else "")
            for lesson in shown.lessons:
                marks[lesson.subject].extend((day, mark) for mark in lesson.marks)
            day += timedelta(days=1)
        return tuple(SubjectMarks(subject, tuple(found)) for subject, found in marks.items())


def _clock(now: datetime) -> str:
    return now.strftime("%H:%M")


def _as_of(day: Day, clock: str) -> Day:
    """A day of today or later as the journal shows it at ``clock`` ("HH:MM" today, "" for a
    day still to come): a lesson that has not ended yet has no mark yet."""
    if not day.lessons or all(lesson.ends <= clock or not lesson.marks for lesson in day.lessons):
        return day
    lessons = tuple(
        lesson if lesson.ends <= clock else replace(lesson, marks=()) for lesson in day.lessons
    )
    return replace(day, lessons=lessons)
