"""Login statistics counters

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 23:30:00

One row per region, day (in the region's time zone), method, outcome, reason and school,
counting logins (app/login_stats.py). The table starts empty: `flask counters rebuild`
recounts the days the audit events still hold.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "login_counter",
        sa.Column("tenant", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("school_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant", "day", "method", "outcome", "reason", "school_id",
            name=op.f("pk_login_counter"),
        ),
    )


def downgrade():
    op.drop_table("login_counter")
