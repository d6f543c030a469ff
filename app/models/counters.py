"""Login counters: how many logins a region had per day, method, outcome, reason and school.

Each login adds one to its row in the same transaction as its audit event
(:func:`app.login_stats.count_login`); ``flask counters rebuild`` recomputes them from the
audit events. The rows hold counts only, never who logged in.

Each login also adds to the region's counter of the day without its school
(:class:`LoginDayCounter`) and to its school's figures of the day (:class:`SchoolDayCounter`),
so the statistics page never adds up the 9,000 counter rows a day of a region of 1,500 schools.
Once a day is over, each school's running totals through it are written
(:class:`SchoolLoginTotal`, ``app.login_totals``): a period's figures per school are two rows
a school, however long the period.
"""

from datetime import date

from sqlalchemy import Date, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

# The school of a login the portal could not place (no record matched, a provider's failure).
NO_SCHOOL = 0


class LoginCounter(Base):
    __tablename__ = "login_counter"

    tenant: Mapped[str] = mapped_column(String(32))
    # The day in the region's time zone (``timezone`` of its configuration).
    day: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))  # succeeded, stopped, failed
    # A stopped login's outcome or a failure's reason (app.wording.REASONS); "" for a success.
    reason: Mapped[str] = mapped_column(String(64))
    # Not a foreign key: the counts of a school the registry no longer holds are still counts,
    # and NO_SCHOOL (0) names none. Never NULL, or the unique key would not catch a repeat.
    school_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)

    # The key leads with (tenant, day): the page reads one region's days, with or without a
    # school.
    __table_args__ = (
        PrimaryKeyConstraint("tenant", "day", "method", "outcome", "reason", "school_id"),
        # The page filtered by one school reads that school's days only.
        Index("ix_login_counter_school", "tenant", "school_id", "day"),
    )


# How many rows a region's day counter is spread over: every login of a region adds to it,
# and one row would make them wait for each other's commits.
STRIPES = 8


class LoginDayCounter(Base):
    """A region's logins per day, method, outcome and reason, its schools added up; each
    login adds one to one of :data:`STRIPES` rows at random."""

    __tablename__ = "login_day_counter"

    tenant: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    stripe: Mapped[int] = mapped_column(Integer, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        PrimaryKeyConstraint("tenant", "day", "method", "outcome", "reason", "stripe"),
    )


class SchoolDayCounter(Base):
    """A school's logins of a day as the page's table of schools shows them: logins,
    failures (stopped and failed), and of those, two reasons of their own."""

    __tablename__ = "school_day_counter"

    tenant: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    school_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    succeeded: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    not_found: Mapped[int] = mapped_column(Integer, default=0)
    student_profile: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        PrimaryKeyConstraint("tenant", "day", "school_id"),
        Index("ix_school_day_counter_school", "tenant", "school_id", "day"),
    )


class SchoolLoginTotal(Base):
    """A school's :class:`SchoolDayCounter` figures added up from the region's first counted
    day through ``day`` (a day that is over). A row for every school with logins so far on
    every such day, so a period's figures are this day's row less the row of the day before
    the period."""

    __tablename__ = "school_login_total"

    tenant: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    school_id: Mapped[int] = mapped_column(Integer, autoincrement=False)
    succeeded: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)  # stopped and failed
    not_found: Mapped[int] = mapped_column(Integer)
    student_profile: Mapped[int] = mapped_column(Integer)

    __table_args__ = (PrimaryKeyConstraint("tenant", "day", "school_id"),)


class LoginTotalsMark(Base):
    """How far a region's running totals go: the last day they have (None: not yet begun).
    Its row is also the lock that two writers of one region's totals take in turn."""

    __tablename__ = "login_totals_mark"

    tenant: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date | None] = mapped_column(Date, nullable=True)
