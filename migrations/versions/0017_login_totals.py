"""Login statistics from day counters and running totals

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 06:00:00

The statistics page added up every counter row of its period: some 9,000 a day in a region
of 1,500 schools, 90 ms a query for a month. A login now also adds to its region's day
(login_day_counter, spread over a few rows so that a region's logins do not wait for each
other) and to its school's day (school_day_counter); each school's running totals are written
once a day is over (school_login_total, how far in login_totals_mark), so a period per
school is two rows a school (app/login_totals.py). The page filtered by one school reads
that school's rows by the new indexes.

The day counters are filled from the counters already there; the running totals are written
by the first view of the page or ``flask counters close``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# A school's figures, as app/login_totals.py names them at this revision.
FIGURES = ("succeeded", "failed", "not_found", "student_profile")


def upgrade():
    op.create_index("ix_login_counter_school", "login_counter", ["tenant", "school_id", "day"])
    op.create_table(
        "login_day_counter",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("stripe", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant",
            "day",
            "method",
            "outcome",
            "reason",
            "stripe",
            name=op.f("pk_login_day_counter"),
        ),
    )
    for table in ("school_day_counter", "school_login_total"):  # a day's, and running totals
        op.create_table(
            table,
            sa.Column("tenant", sa.String(32), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
            *(sa.Column(name, sa.Integer(), nullable=False) for name in FIGURES),
            sa.PrimaryKeyConstraint("tenant", "day", "school_id", name=op.f(f"pk_{table}")),
        )
    op.create_index(
        "ix_school_day_counter_school", "school_day_counter", ["tenant", "school_id", "day"]
    )
    # What the counters so far add up to, as the code counts it (the schema of this revision).
    op.execute(
        "INSERT INTO login_day_counter (tenant, day, method, outcome, reason, stripe, count) "
        "SELECT tenant, day, method, outcome, reason, 0, sum(count) FROM login_counter "
        "GROUP BY tenant, day, method, outcome, reason"
    )
    failed = "outcome <> 'succeeded'"
    op.execute(
        "INSERT INTO school_day_counter (tenant, day, school_id, succeeded, failed, not_found, "
        "student_profile) SELECT tenant, day, school_id, "
        "sum(CASE WHEN outcome = 'succeeded' THEN count ELSE 0 END), "
        f"sum(CASE WHEN {failed} THEN count ELSE 0 END), "
        f"sum(CASE WHEN {failed} AND reason = 'not_found' THEN count ELSE 0 END), "
        f"sum(CASE WHEN {failed} AND reason = 'student_profile' THEN count ELSE 0 END) "
        "FROM login_counter GROUP BY tenant, day, school_id"
    )
    op.create_table(
        "login_totals_mark",
        sa.Column("tenant", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("tenant", name=op.f("pk_login_totals_mark")),
    )


def downgrade():
    op.drop_table("login_totals_mark")
    op.drop_table("school_login_total")
    op.drop_index("ix_school_day_counter_school", table_name="school_day_counter")
    op.drop_table("school_day_counter")
    op.drop_table("login_day_counter")
    op.drop_index("ix_login_counter_school", table_name="login_counter")
