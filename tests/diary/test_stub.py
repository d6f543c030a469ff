"""The stub journal: the same diary for the same student and week, believable, consistent."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from app.diary import Student, parse_week, term_of
from app.diary.calendar import day_off, week_param
from app.diary.charts import HEIGHT, PAD, WIDTH, sparkline
from app.diary.stub import MIDDLE, PRIMARY, SENIOR, StubDiary

MISHA = Student(1, "mosreg:obraztsov_misha", "Образцов Михаил Андреевич", "6В", "СОШ № 1")
DASHA = Student(2, "mosreg:obraztsova_dasha", "Образцова Дарья Андреевна", "4Б", "Лицей № 2")
MONDAY = date(2026, 11, 16)
# After the school year: every lesson of these weeks has taken place.
LATER = datetime(2027, 6, 30, 12, 0)


def test_a_week_is_the_same_on_every_call_and_every_backend_instance():
    assert StubDiary().week(MISHA, MONDAY, LATER) == StubDiary().week(MISHA, MONDAY, LATER)
    assert StubDiary().term_marks(MISHA, MONDAY, LATER) == StubDiary().term_marks(
        MISHA, MONDAY, LATER
    )


def test_students_and_weeks_differ():
    diary = StubDiary()
    week = diary.week(MISHA, MONDAY, LATER)
    assert week != diary.week(MISHA, MONDAY + timedelta(days=7), LATER)
    other = Student(3, "kaluga:obraztsov_misha", MISHA.full_name, "6В", "СОШ № 1")
    marks = [lesson.marks for day in week.days for lesson in day.lessons]
    assert marks != [
        lesson.marks for day in diary.week(other, MONDAY, LATER).days for lesson in day.lessons
    ]


def test_subjects_follow_the_grade():
    diary = StubDiary()
    assert diary.subjects(DASHA) == PRIMARY
    assert diary.subjects(MISHA) == MIDDLE
    assert diary.subjects(Student(4, "x", "x", "11А", "s")) == SENIOR
    subjects = {
        lesson.subject for day in diary.week(DASHA, MONDAY, LATER).days for lesson in day.lessons
    }
    assert subjects <= set(PRIMARY)


def test_a_school_week_has_five_days_with_numbered_lessons_and_homework():
    week = StubDiary().week(MISHA, MONDAY, LATER)
    assert [day.day.weekday() for day in week.days] == [0, 1, 2, 3, 4]
    for day in week.days:
        assert [lesson.number for lesson in day.lessons] == list(range(1, 7))
        assert len({lesson.subject for lesson in day.lessons}) == 6
        assert all(mark in (2, 3, 4, 5) for lesson in day.lessons for mark in lesson.marks)
    assert week.label == "16 ноября — 20 ноября 2026"
    assert week.term.name == "2-я четверть"


def test_holidays_have_no_lessons():
    summer = StubDiary().week(MISHA, date(2026, 7, 6), LATER)
    assert all(day.off == "Каникулы" and not day.lessons for day in summer.days)
    assert day_off(date(2026, 11, 4)) == "День народного единства"
    assert day_off(date(2026, 11, 21)) == "Выходной"
    assert term_of(date(2026, 7, 6)) is None


def test_term_marks_are_exactly_the_marks_of_the_weeks_so_far():
    diary = StubDiary()
    until = date(2026, 11, 27)
    from_weeks: dict[str, list[int]] = {}
    monday = date(2026, 11, 2)
    while monday <= until:
        for day in diary.week(MISHA, monday, LATER).days:
            if term_of(day.day) and day.day <= until:
                for lesson in day.lessons:
                    from_weeks.setdefault(lesson.subject, []).extend(lesson.marks)
        monday += timedelta(days=7)
    from_term = {s.subject: [m for _, m in s.marks] for s in diary.term_marks(MISHA, until, LATER)}
    assert {k: v for k, v in from_term.items() if v} == {k: v for k, v in from_weeks.items() if v}


def test_marks_come_only_with_lessons_that_have_taken_place():
    diary = StubDiary(mark_chance=1.0)  # every lesson that has taken place has a mark
    wednesday = MONDAY + timedelta(days=2)
    during_the_third_lesson = datetime.combine(wednesday, datetime.min.time()).replace(
        hour=10, minute=45
    )
    week = diary.week(MISHA, MONDAY, during_the_third_lesson)
    done, today, later = week.days[:2], week.days[2], week.days[3:]
    assert all(lesson.marks for day in done for lesson in day.lessons)
    assert [bool(lesson.marks) for lesson in today.lessons] == [True, True] + [False] * 4
    assert not any(lesson.marks for day in later for lesson in day.lessons)
    # Lessons to come keep their subject, topic and homework: only the marks wait.
    ahead = diary.week(MISHA, MONDAY, LATER).days[3:]
    assert [[(lesson.subject, lesson.homework) for lesson in d.lessons] for d in later] == [
        [(lesson.subject, lesson.homework) for lesson in d.lessons] for d in ahead
    ]
    # The term's table agrees with the week: nothing from the lessons still to come.
    term = diary.term_marks(MISHA, wednesday, during_the_third_lesson)
    this_week = [(d, m) for s in term for d, m in s.marks if d >= MONDAY]
    assert len(this_week) == sum(len(lesson.marks) for day in week.days for lesson in day.lessons)


def test_a_higher_mark_chance_gives_more_marks():
    few = sum(len(s.marks) for s in StubDiary(0.1).term_marks(MISHA, date(2026, 12, 25), LATER))
    many = sum(len(s.marks) for s in StubDiary(1.0).term_marks(MISHA, date(2026, 12, 25), LATER))
    assert many > 3 * few > 0


@pytest.mark.parametrize(
    ("text", "monday"),
    [
        (None, date(2026, 11, 16)),
        ("", date(2026, 11, 16)),
        ("2026-W47", date(2026, 11, 16)),
        ("2027-W01", date(2027, 1, 4)),
        ("2026-W54", None),
        ("2026-w47", None),
        ("1999-W10", None),
        ("2026-W47; DROP", None),
        ("47", None),
    ],
)
def test_parse_week(text, monday):
    assert parse_week(text, date(2026, 11, 22)) == monday


def test_week_param_round_trips():
    for monday in (date(2026, 11, 16), date(2027, 1, 4), date(2026, 12, 28)):
        assert parse_week(week_param(monday), monday) == monday


def test_sparkline_stays_inside_its_box_and_puts_five_on_top():
    chart = sparkline([5, 2, 4, 3])
    xs, ys = [p.x for p in chart.points], [p.y for p in chart.points]
    assert xs == sorted(xs) and min(xs) == PAD and max(xs) == WIDTH - PAD
    assert ys[0] == PAD and ys[1] == HEIGHT - PAD
    assert chart.polyline.startswith("5.0,5.0 ")
    assert sparkline([]).points == ()
    assert sparkline([4]).points[0].x == WIDTH / 2
