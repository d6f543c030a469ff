"""Trusted-person invitations expire

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 23:30:00

Each invitation keeps the moment it lapses, fixed when it was sent; those already sent lapse
seven days (the default of ``trusted_persons.invitation_days``) after they were. A grant's
child row records a revocation by one of the child's parents, and who made it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The rows already there lapse seven days (the setting's default) after they were sent, in
# each database's own date arithmetic: one statement, whatever the table's size.
FILL = {
    "postgresql": "UPDATE trusted_grant SET expires_at = created_at + INTERVAL '7 days'",
    "sqlite": "UPDATE trusted_grant "
    "SET expires_at = strftime('%Y-%m-%d %H:%M:%f', created_at, '+7 days')",
}


def upgrade():
    with op.batch_alter_table("trusted_grant") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])
    with op.batch_alter_table("trusted_grant") as batch:
        batch.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    with op.batch_alter_table("trusted_grant_child") as batch:
        batch.add_column(sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("ended_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            batch.f("fk_trusted_grant_child_ended_by_id_user_account"),
            "user_account",
            ["ended_by_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("trusted_grant_child") as batch:
        batch.drop_constraint(
            batch.f("fk_trusted_grant_child_ended_by_id_user_account"), type_="foreignkey"
        )
        batch.drop_column("ended_by_id")
        batch.drop_column("ended_at")
    with op.batch_alter_table("trusted_grant") as batch:
        batch.drop_column("expires_at")
