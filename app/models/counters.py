"""Login counters: how many logins a region had per day, method, outcome, reason and school.

Each login adds one to its row in the same transaction as its audit event
(:func:`app.login_stats.count_login`), so the statistics page reads a few hundred rows
however many logins a region has; ``flask counters rebuild`` recomputes them from the audit
events. The rows hold counts only, never who logged in.
"""

from datetime import date

from sqlalchemy import Date, Integer, PrimaryKeyConstraint, String
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
    )
