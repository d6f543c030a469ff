"""The statistics page's figures from the day counters and the schools' running totals
(app/login_totals.py): the same as the counters say, however far the running totals go, while
they are written a few days per view, after a recount, and with two writers at once; a view
never waits for another writer, nor fails when it cannot write."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import func, select, text

from app import audit, login_stats, login_totals
from app.extensions import db
from app.models import AuditEvent, School
from app.models.counters import NO_SCHOOL, LoginDayCounter, SchoolDayCounter, SchoolLoginTotal
from tests.test_login_counters import _other_thread, counters, day_counters_agree
from tests.test_login_counters import mosreg as mosreg
from tests.test_login_counters import no_leftovers as no_leftovers

MOSCOW = ZoneInfo("Europe/Moscow")
NOON = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
TODAY = date(2026, 12, 5)
DAYS = 21
ENDS = [("succeeded", ""), ("stopped", "not_found"), ("stopped", "student_profile"),
        ("failed", "invalid_token"), ("stopped", "parent_consent_needed")]  # fmt: skip
KINDS = {"succeeded": "login_succeeded", "stopped": "login_stopped", "failed": "login_failed"}


def log_in_for_weeks(seed: int = 7) -> None:
    """Logins of the last DAYS days up to today, as the portal counts them: each on its day,
    of one of the region's schools or of none, by two methods, with every kind of end."""
    rng = random.Random(seed)
    db.session.add_all(School(tenant="mosreg", key=f"bench-{n}", full_name=f"Школа № {n}",
                              short_name=f"Школа № {n}") for n in range(40))  # fmt: skip
    db.session.flush()
    schools = [*db.session.scalars(select(School.id).filter_by(tenant="mosreg")), None]
    for back in range(DAYS - 1, -1, -1):
        with time_machine.travel(NOON - timedelta(days=back), tick=False):
            for _ in range(rng.randrange(20, 40)):
                outcome, reason = rng.choice(ENDS)
                detail = {"method": rng.choice(["esia", "password"])}
                if outcome == "failed":
                    detail["reason"] = reason
                elif outcome == "stopped":
                    detail["outcome"] = reason
                school = rng.choice(schools)
                audit.record(KINDS[outcome], commit=False, schools=[school] if school else [],
                             **detail)  # fmt: skip
    db.session.commit()


def expected(start: date, end: date) -> tuple[dict, dict]:
    """What the counters say of a period: (day, method, outcome, reason) → logins, and
    school → its figures."""
    days: Counter = Counter()
    schools: dict[int, Counter] = defaultdict(Counter)
    for (_, day, method, outcome, reason, school), count in counters("mosreg").items():
        if start <= day <= end:
            days[(day, method, outcome, reason)] += count
            for name, value in login_totals.figures_of(outcome, reason).items():
                schools[school][name] += value * count
    return dict(days), {school: figures for school, figures in schools.items()}


def shown(report: login_stats.Report) -> tuple[dict, dict, list]:
    """What the page shows of a report, in the shape of :func:`expected`."""
    days: Counter = Counter()
    for method, per_day in report.by_method.items():
        for day, count in per_day.items():
            days[(day, method, "succeeded", "")] += count
    failures = Counter()
    for reason, per_day in report.by_reason.items():
        for day, count in per_day.items():
            failures[(day, reason)] += count
    schools = {row.school_id: Counter(succeeded=row.succeeded, failed=row.failed,
                                      not_found=row.reasons["not_found"],
                                      student_profile=row.reasons["student_profile"])
               for row in report.schools}  # fmt: skip
    return dict(days), schools, failures


def assert_page_right(start: date, end: date) -> None:
    report = login_stats.report("mosreg", login_stats.Period(start, end))
    days, schools = expected(start, end)
    succeeded = {key: count for key, count in days.items() if key[2] == "succeeded"}
    failures = Counter()
    reason_methods: dict[str, Counter] = defaultdict(Counter)
    for (day, method, outcome, reason), count in days.items():
        if outcome != "succeeded":
            failures[(day, reason)] += count
            reason_methods[reason][method] += count
    page_days, page_schools, page_failures = shown(report)
    assert page_days == succeeded
    assert page_failures == failures
    assert report.reason_methods == reason_methods
    ranked = sorted(schools.items(), key=lambda item: (-item[1]["failed"],
                                                       -item[1]["succeeded"], item[0]))  # fmt: skip
    assert page_schools == {school: +figures for school, figures in ranked[:30]}
    assert list(page_schools) == [school for school, _ in ranked[:30]]
    assert report.more_schools == max(len(schools) - 30, 0)
    assert [count for _, count in report.not_found_schools] == sorted(
        (figures["not_found"] for figures in schools.values() if figures["not_found"]),
        reverse=True,
    )[:10]


PERIODS = [(TODAY - timedelta(days=6), TODAY), (TODAY - timedelta(days=DAYS), TODAY),
           (TODAY - timedelta(days=15), TODAY - timedelta(days=10)), (TODAY, TODAY),
           (TODAY - timedelta(days=60), TODAY - timedelta(days=40))]  # fmt: skip


def totals_agree() -> None:
    """Each school's running total of each day it has is the sum of its days until then."""
    by_day: dict[int, list] = defaultdict(list)
    for row in db.session.scalars(select(SchoolDayCounter)):
        by_day[row.school_id].append(row)
    rows = db.session.scalars(select(SchoolLoginTotal)).all()
    assert rows
    for total in rows:
        for name in login_totals.FIGURES:
            assert getattr(total, name) == sum(
                getattr(day, name) for day in by_day[total.school_id] if day.day <= total.day
            )


def test_the_page_says_what_the_counters_say_however_far_the_totals_go(mosreg):
    log_in_for_weeks()
    day_counters_agree()
    assert len({school for *_, school in counters()}) > 30  # more than the page lists
    assert NO_SCHOOL in {school for *_, school in counters()}
    with time_machine.travel(NOON, tick=False):
        reached = []
        # Each view writes at most PAGE_DAYS days of running totals, from the first counted
        # day, until the last day that is over (yesterday): the figures never change.
        for _ in range(DAYS // login_totals.PAGE_DAYS + 2):
            for start, end in PERIODS:
                assert_page_right(start, end)
            reached.append(login_totals.summed_through("mosreg"))
        first = TODAY - timedelta(days=DAYS - 1)
        assert reached[0] == first + timedelta(days=login_totals.PAGE_DAYS * len(PERIODS) - 1)
        assert reached[-1] == TODAY - timedelta(days=1)
        totals_agree()
        day_counters_agree()
        # The days that are over have their region's day gathered into one row per key.
        stripes = db.session.execute(
            select(LoginDayCounter.day, func.count(), func.count(LoginDayCounter.stripe.distinct()))
            .group_by(LoginDayCounter.day)
        ).all()  # fmt: skip
        assert {day: (rows, kinds) for day, rows, kinds in stripes if day < TODAY} == {
            day: (rows, 1) for day, rows, _ in stripes if day < TODAY
        }
        assert len(stripes) == DAYS
        # One school's page reads its counters: the same figures.
        school = next(s for *_, s in counters() if s != NO_SCHOOL)
        report = login_stats.report("mosreg", login_stats.Period(first, TODAY), school)
        _, schools = expected(first, TODAY)
        assert shown(report)[1] == {school: +schools[school]}


def test_the_totals_wait_ten_minutes_after_midnight():
    assert login_totals.last_day_over(datetime(2026, 12, 6, 0, 5, tzinfo=MOSCOW)) == date(
        2026, 12, 4
    )
    assert login_totals.last_day_over(datetime(2026, 12, 6, 0, 15, tzinfo=MOSCOW)) == date(
        2026, 12, 5
    )


def test_a_recount_keeps_the_totals_before_it_and_writes_the_rest_again(mosreg):
    log_in_for_weeks()
    with time_machine.travel(NOON, tick=False):
        assert login_totals.close_all("mosreg", TODAY - timedelta(days=1)) == TODAY - timedelta(
            days=1
        )
        kept = db.session.scalar(select(func.count()).select_from(SchoolLoginTotal).where(
            SchoolLoginTotal.day < TODAY - timedelta(days=2)))  # fmt: skip
        # Logins whose audit events were written but not counted (as before the counters
        # existed), yesterday and the day before: the recount of the last three days finds them.
        before = counters("mosreg")
        db.session.add_all(
            AuditEvent(tenant="mosreg", kind="login_succeeded", detail={"method": "esia"},
                       created_at=NOON - timedelta(days=back))
            for back in (1, 2, 2)
        )  # fmt: skip
        db.session.commit()
        login_stats.rebuild("mosreg", 3)
        assert login_totals.summed_through("mosreg") == TODAY - timedelta(days=3)
        assert kept == db.session.scalar(select(func.count()).select_from(SchoolLoginTotal))
        assert sum(counters("mosreg").values()) == sum(before.values()) + 3
        for start, end in PERIODS:
            assert_page_right(start, end)
        assert login_totals.close_all("mosreg", TODAY - timedelta(days=1)) == TODAY - timedelta(
            days=1
        )
        day_counters_agree()
        totals_agree()
        # Recounting more days than the totals have starts them again from the first day.
        login_stats.rebuild("mosreg", DAYS + 5)
        assert login_totals.summed_through("mosreg") is None
        assert db.session.scalar(select(func.count()).select_from(SchoolLoginTotal)) == 0
        for start, end in PERIODS:
            assert_page_right(start, end)
        day_counters_agree()


def test_two_writers_at_once_take_turns(mosreg):
    log_in_for_weeks()
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)
    reached: list = []

    def write():
        barrier.wait(10)
        try:
            with time_machine.travel(NOON, tick=False):
                reached.append(login_totals.close_all("mosreg", TODAY - timedelta(days=1)))
        except BaseException as error:  # reported by the test, not lost in a thread
            errors.append(error)
            raise

    threads = [_other_thread(mosreg, write) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert reached == [TODAY - timedelta(days=1)] * 3
    totals_agree()
    with time_machine.travel(NOON, tick=False):
        for start, end in PERIODS:
            assert_page_right(start, end)


def test_a_view_does_not_wait_for_another_writer_nor_fail_for_it(mosreg):
    """Another writer holds the region's turn, first while it creates the region's row, then
    its row: on PostgreSQL the view gives up at once; on SQLite when the database's busy
    timeout does. Either way the figures come from the day counters, right."""
    log_in_for_weeks()
    postgres = db.session.get_bind().dialect.name == "postgresql"
    for first in (True, False):
        holding, done = threading.Event(), threading.Event()

        def hold(holding=holding, done=done):
            login_totals._lock("mosreg", wait=True)
            holding.set()
            done.wait(30)

        summed = login_totals.summed_through("mosreg")
        assert (summed is None) is first
        holder = _other_thread(mosreg, hold)
        holder.start()
        try:
            assert holding.wait(10)
            with time_machine.travel(NOON, tick=False):
                started = time.monotonic()
                assert_page_right(*PERIODS[0])
                waited = time.monotonic() - started
            assert login_totals.summed_through("mosreg") == summed
            assert waited < (2 if postgres else 5 + 3)
        finally:
            done.set()
            holder.join(30)
        with time_machine.travel(NOON, tick=False):
            assert_page_right(*PERIODS[0])  # and now writes a few days
        assert login_totals.summed_through("mosreg") != summed


def test_the_daily_command_writes_the_totals_up_to_yesterday(mosreg, runner):
    log_in_for_weeks()
    with time_machine.travel(NOON, tick=False):
        result = runner.invoke(args=["counters", "close", "--region", "mosreg"])
    assert result.exit_code == 0, result.output
    assert "mosreg: login counters summed up to 2026-12-04" in result.output
    assert login_totals.summed_through("mosreg") == TODAY - timedelta(days=1)
    totals_agree()
    assert runner.invoke(args=["counters", "close", "--region", "atlantis"]).exit_code != 0


def test_the_migration_fills_the_day_counters_from_the_counters(app):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(revision="0016")
        try:
            rows = [("mosreg", TODAY, "esia", "succeeded", "", 5, 4),
                    ("mosreg", TODAY, "password", "succeeded", "", 5, 1),
                    ("mosreg", TODAY, "esia", "stopped", "not_found", 5, 2),
                    ("mosreg", TODAY, "esia", "failed", "invalid_token", 0, 3),
                    ("kaluga", TODAY, "esia", "stopped", "student_profile", 7, 6)]  # fmt: skip
            for row in rows:
                db.session.execute(
                    text("INSERT INTO login_counter (tenant, day, method, outcome, reason, "
                         "school_id, count) VALUES (:t, :d, :m, :o, :r, :s, :c)"),
                    dict(zip("tdmorsc", row, strict=True)),
                )  # fmt: skip
            db.session.commit()
        finally:
            db.session.rollback()
            upgrade()
        day_counters_agree()
        figures = {(c.tenant, c.school_id): tuple(getattr(c, n) for n in login_totals.FIGURES)
                   for c in db.session.scalars(select(SchoolDayCounter))}  # fmt: skip
        assert figures == {("mosreg", 5): (5, 2, 2, 0), ("mosreg", 0): (0, 3, 0, 0),
                           ("kaluga", 7): (0, 6, 0, 6)}  # fmt: skip
