"""What people send their school, sealed at rest (join requests, mismatch reports)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 15:05:00

The JSON columns become text holding a Fernet token (app/sealing.py), and the rows already
there are sealed with the deployment's key.
"""

import json

import sqlalchemy as sa
from alembic import op

from app.sealing import seal, unseal

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMNS = (("join_request", "applicant"), ("mismatch_report", "sent"))


def _rewrite(table: str, column: str, change) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {column} FROM {table}")).all()  # noqa: S608
    for row_id, value in rows:
        bind.execute(
            sa.text(f"UPDATE {table} SET {column} = :value WHERE id = :id"),  # noqa: S608
            {"value": change(value), "id": row_id},
        )


def upgrade():
    for table, column in COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Text(), existing_type=sa.JSON(),
                               postgresql_using=f"{column}::text")
        _rewrite(table, column, lambda value: seal(json.loads(value) if value else {}))


def downgrade():
    for table, column in COLUMNS:
        _rewrite(table, column, lambda value: json.dumps(unseal(value)) if value else "{}")
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.JSON(), existing_type=sa.Text(),
                               postgresql_using=f"{column}::json")
