"""The statistics page's figures per region and per school, at the cost of a few rows whatever
the region's size and the period's length.

A login adds one to its counter (``app.login_stats``): some 9,000 rows a day in a region of
1,500 schools, too many to add up for every view of the page. It also adds one to its
region's day (:class:`LoginDayCounter`: a row per method, outcome and reason, spread over a
few stripes while the day lasts) and to its school's day (:class:`SchoolDayCounter`: a row per
school and day). Once a day is over, its stripes are gathered and each school's running totals
through it are written (:class:`SchoolLoginTotal`), so a period's figures per school are the
row of its last day less the row of the day before it: two rows a school however long the
period, and the schools' days since the last running totals (today, and yesterday in the first
minutes after midnight).

A day's running totals are written :data:`GRACE` after its end in the region's zone, when no
login that began in it can still be committing. The page writes at most :data:`PAGE_DAYS`
days of them itself and never waits for another view doing so; ``flask counters close``
(daily, from cron) writes the rest. Two writers of one region's totals take turns on its
:class:`LoginTotalsMark` row, which says how far they go.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import case, delete, func, insert, literal, select, text, union_all, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models.counters import (
    LoginCounter,
    LoginDayCounter,
    LoginTotalsMark,
    SchoolDayCounter,
    SchoolLoginTotal,
)

# After midnight in the region's zone, how long before the day just over gets its totals.
GRACE = timedelta(minutes=10)
# The most days of running totals a view of the statistics page writes before it reads them.
PAGE_DAYS = 3
# How long a view waits for a lock of another writer of the running totals, on PostgreSQL.
NO_WAIT_MS = 200
# The most days of running totals written in one transaction.
CHUNK_DAYS = 31
# The reasons the table of schools counts on their own, beside all failures.
SCHOOL_REASONS = ("not_found", "student_profile")
# A school's figures: logins, failures (stopped and failed logins), and of those, each of
# SCHOOL_REASONS.
FIGURES = ("succeeded", "failed", *SCHOOL_REASONS)
Figures = tuple[int, ...]
NONE: Figures = (0,) * len(FIGURES)
ONE_DAY = timedelta(days=1)

log = logging.getLogger("portal.login_totals")


def figures_of(outcome: str, reason: str) -> dict[str, int]:
    """What one login adds to its school's :data:`FIGURES`."""
    succeeded = outcome == "succeeded"
    return {"succeeded": int(succeeded), "failed": int(not succeeded),
            **{name: int(not succeeded and reason == name) for name in SCHOOL_REASONS}}  # fmt: skip


def added(a: Figures, b: Figures) -> Figures:
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _from_counters() -> list:
    """The columns that add up counters into :data:`FIGURES` (grouped by school and day)."""
    count = LoginCounter.count
    failed = LoginCounter.outcome != "succeeded"
    return [
        func.sum(case((LoginCounter.outcome == "succeeded", count), else_=0)),
        func.sum(case((failed, count), else_=0)),
        *(func.sum(case((failed & (LoginCounter.reason == reason), count), else_=0))
          for reason in SCHOOL_REASONS),
    ]  # fmt: skip


# --- reading -----------------------------------------------------------------------------------


def days(tenant: str, start: date, end: date) -> Iterable[tuple[date, str, str, str, int]]:
    """The region's (day, method, outcome, reason, logins) from ``start`` to ``end``."""
    return db.session.execute(
        select(LoginDayCounter.day, LoginDayCounter.method, LoginDayCounter.outcome,
               LoginDayCounter.reason, func.sum(LoginDayCounter.count))
        .where(LoginDayCounter.tenant == tenant, LoginDayCounter.day >= start,
               LoginDayCounter.day <= end)
        .group_by(LoginDayCounter.day, LoginDayCounter.method, LoginDayCounter.outcome,
                  LoginDayCounter.reason)
    ).tuples()  # fmt: skip


@dataclass
class Ranking:
    """The schools of a period as the page lists them, each with its :data:`FIGURES`."""

    schools: list[tuple[int, Figures]]  # the most failures first, then the most logins
    most_not_found: list[tuple[int, Figures]]  # the most «дневник не найден» first
    count: int  # schools with logins in the period


def ranking(tenant: str, start: date, end: date, summed: date | None, *, listed: int,
            not_found: int, school: int | None = None) -> Ranking:  # fmt: skip
    """The first ``listed`` schools of the period by failures, the first ``not_found`` by
    «дневник не найден», and how many had logins (or only ``school``): from the running
    totals up to ``summed`` (the last day they have) and the schools' day counters after it,
    added up and ranked by the database in one statement: a few rows come back whatever the
    number of schools."""
    parts = []
    counted_from = start
    if summed is not None and summed >= start:
        through, before = aliased(SchoolLoginTotal), aliased(SchoolLoginTotal)
        parts.append(
            select(through.school_id,
                   *(getattr(through, n) - func.coalesce(getattr(before, n), 0) for n in FIGURES))
            .outerjoin(before, (before.tenant == through.tenant)
                       & (before.day == start - ONE_DAY) & (before.school_id == through.school_id))
            .where(through.tenant == tenant, through.day == min(summed, end),
                   *([through.school_id == school] if school is not None else []))
        )  # fmt: skip
        counted_from = min(summed, end) + ONE_DAY
    if counted_from <= end:
        parts.append(
            select(SchoolDayCounter.school_id, *(getattr(SchoolDayCounter, n) for n in FIGURES))
            .where(SchoolDayCounter.tenant == tenant, SchoolDayCounter.day >= counted_from,
                   SchoolDayCounter.day <= end,
                   *([SchoolDayCounter.school_id == school] if school is not None else []))
        )  # fmt: skip
    rows = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery()
    school_id, *columns = rows.c
    sums = [func.sum(column).label(name) for column, name in zip(columns, FIGURES, strict=True)]
    period = (
        select(school_id.label("school_id"), *sums).group_by(school_id)
        .having(sums[0] + sums[1] > 0).cte("period")
    )  # fmt: skip
    p = period.c
    figures = [p[name] for name in FIGURES]
    listed_rows = (
        select(literal("listed").label("part"), p.school_id, *figures)
        .order_by(p.failed.desc(), p.succeeded.desc(), p.school_id).limit(listed).subquery()
    )  # fmt: skip
    not_found_rows = (
        select(literal("not_found").label("part"), p.school_id, *figures)
        .where(p.not_found > 0).order_by(p.not_found.desc(), p.school_id).limit(not_found)
        .subquery()
    )  # fmt: skip
    counted = select(literal("count"), func.count(), *(literal(0) for _ in FIGURES)).select_from(
        period
    )
    result = Ranking([], [], 0)
    for part, school_id, *figures in db.session.execute(
        union_all(select(listed_rows), select(not_found_rows), counted)
    ):  # fmt: skip
        if part == "count":
            result.count = school_id
        else:
            (result.schools if part == "listed" else result.most_not_found).append(
                (school_id, tuple(figures))
            )
    return result


def _totals(tenant: str, day: date) -> dict[int, Figures]:
    """Each school's running totals through ``day`` (none before they begin)."""
    rows = db.session.execute(
        select(SchoolLoginTotal.school_id,
               *(getattr(SchoolLoginTotal, name) for name in FIGURES))
        .where(SchoolLoginTotal.tenant == tenant, SchoolLoginTotal.day == day)
    )  # fmt: skip
    return {school: tuple(figures) for school, *figures in rows}


def summed_through(tenant: str) -> date | None:
    """The last day the region's running totals have (None: none yet)."""
    return db.session.scalar(select(LoginTotalsMark.day).where(LoginTotalsMark.tenant == tenant))


# --- writing the running totals ----------------------------------------------------------------


def last_day_over(now: datetime) -> date:
    """The last day that may have its running totals, ``now`` being the time in the region's
    zone."""
    return (now - GRACE).date() - ONE_DAY


def _lock(tenant: str, wait: bool) -> tuple[bool, date | None]:
    """Take the region's turn: (whether it was taken, how far the running totals go). Not
    waiting on PostgreSQL: skip a row another writer holds; and should the other writer be
    creating the region's row, give up (an error) after a moment rather than wait for it."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    if postgresql and not wait:
        db.session.execute(text(f"SET LOCAL lock_timeout = '{NO_WAIT_MS}ms'"))
    db.session.execute(
        text("INSERT INTO login_totals_mark (tenant, day) VALUES (:tenant, NULL) "
             "ON CONFLICT (tenant) DO NOTHING"), {"tenant": tenant}
    )  # fmt: skip
    mark = select(LoginTotalsMark.day).where(LoginTotalsMark.tenant == tenant)
    if postgresql:
        row = db.session.execute(mark.with_for_update(skip_locked=not wait)).first()
        return (row is not None), (row.day if row is not None else summed_through(tenant))
    # SQLite: the insert above began the write transaction, and there is one writer at a time.
    return True, db.session.scalar(mark)


def close(tenant: str, through: date, most: int = CHUNK_DAYS, wait: bool = True) -> date | None:
    """Write the region's running totals, a day at a time, from the day after the last they
    have (or its first counted day) to ``through``, at most ``most`` days; commit, and return
    the last day they have. Another writer of the region's at it: wait for it, or (``wait``
    false) leave the work to it."""
    taken, done = _lock(tenant, wait)
    if not taken:
        db.session.rollback()
        return done
    start = done + ONE_DAY if done else db.session.scalar(
        select(func.min(SchoolDayCounter.day)).where(SchoolDayCounter.tenant == tenant)
    )  # fmt: skip
    if start is None or start > through:
        db.session.commit()
        return done
    end = min(through, start + timedelta(days=most - 1))
    running = _totals(tenant, done) if done else {}
    day = start
    while day <= end:
        running = _sum_up(tenant, day, running)
        day += ONE_DAY
    db.session.execute(
        update(LoginTotalsMark).where(LoginTotalsMark.tenant == tenant).values(day=end)
    )
    db.session.commit()
    return end


def close_all(tenant: str, through: date) -> date | None:
    """Write every running total up to ``through``, a transaction per :data:`CHUNK_DAYS`."""
    done = summed_through(tenant)
    while True:
        reached = close(tenant, through)
        if reached is None or reached >= through or reached == done:
            return reached
        done = reached


def close_for_page(tenant: str, through: date) -> date | None:
    """What a view of the page writes before reading: a few days, never waiting for another
    view, and never failing the page (the day counters still say everything, more slowly).
    It commits or rolls back the request's session: called before the page writes anything."""
    done = summed_through(tenant)
    if done is not None and done >= through:
        return done  # the usual case: nothing to lock or write
    try:
        return close(tenant, through, most=PAGE_DAYS, wait=False)
    except SQLAlchemyError as error:
        db.session.rollback()
        log.warning("login totals not written: the page adds up the day counters",
                    extra={"tenant": tenant, "error": type(error).__name__})  # fmt: skip
        return done


def _sum_up(tenant: str, day: date, running: dict[int, Figures]) -> dict[int, Figures]:
    """Write each school's running totals through ``day``: ``running`` (those through the day
    before) and the day's figures; return them. The region's day counter, spread over
    stripes while logins wrote to it, is gathered into one row per key: the day is over."""
    of_day = (LoginDayCounter.tenant == tenant, LoginDayCounter.day == day)
    key = (LoginDayCounter.method, LoginDayCounter.outcome, LoginDayCounter.reason)
    gathered = db.session.execute(
        select(*key, func.sum(LoginDayCounter.count)).where(*of_day).group_by(*key)
    ).all()
    db.session.execute(delete(LoginDayCounter).where(*of_day))
    if gathered:
        db.session.execute(insert(LoginDayCounter), [
            {"tenant": tenant, "day": day, "method": method, "outcome": outcome,
             "reason": reason, "stripe": 0, "count": count}
            for method, outcome, reason, count in gathered
        ])  # fmt: skip
    running = dict(running)
    for school, *figures in db.session.execute(
        select(SchoolDayCounter.school_id, *(getattr(SchoolDayCounter, n) for n in FIGURES))
        .where(SchoolDayCounter.tenant == tenant, SchoolDayCounter.day == day)
    ):  # fmt: skip
        running[school] = added(running.get(school, NONE), tuple(figures))
    if running:
        db.session.execute(insert(SchoolLoginTotal), [
            {"tenant": tenant, "day": day, "school_id": school,
             **dict(zip(FIGURES, figures, strict=True))}
            for school, figures in running.items()
        ])  # fmt: skip
    return running


# --- after a recount ---------------------------------------------------------------------------


def recount(tenant: str, start: date) -> None:
    """The region's and its schools' day counters from ``start`` on made again from its
    counters (just recounted from the audit events, in the caller's transaction), and its
    running totals from ``start`` on forgotten, to be written again. Waits for a writer of
    the running totals under way."""
    _, done = _lock(tenant, wait=True)
    for model in (LoginDayCounter, SchoolDayCounter, SchoolLoginTotal):
        db.session.execute(delete(model).where(model.tenant == tenant, model.day >= start))
    if done is not None and done >= start:
        kept = db.session.scalar(select(func.min(SchoolLoginTotal.day)).where(
            SchoolLoginTotal.tenant == tenant))  # fmt: skip
        db.session.execute(
            update(LoginTotalsMark).where(LoginTotalsMark.tenant == tenant)
            .values(day=start - ONE_DAY if kept is not None else None)
        )  # fmt: skip
    of_period = (LoginCounter.tenant == tenant, LoginCounter.day >= start)
    db.session.execute(insert(LoginDayCounter).from_select(
        ["tenant", "day", "method", "outcome", "reason", "stripe", "count"],
        select(LoginCounter.tenant, LoginCounter.day, LoginCounter.method, LoginCounter.outcome,
               LoginCounter.reason, literal(0), func.sum(LoginCounter.count))
        .where(*of_period)
        .group_by(LoginCounter.tenant, LoginCounter.day, LoginCounter.method,
                  LoginCounter.outcome, LoginCounter.reason),
    ))  # fmt: skip
    db.session.execute(insert(SchoolDayCounter).from_select(
        ["tenant", "day", "school_id", *FIGURES],
        select(LoginCounter.tenant, LoginCounter.day, LoginCounter.school_id, *_from_counters())
        .where(*of_period)
        .group_by(LoginCounter.tenant, LoginCounter.day, LoginCounter.school_id),
    ))  # fmt: skip
