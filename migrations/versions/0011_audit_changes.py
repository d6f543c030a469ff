"""Field-level audit of changes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 23:30:00

An audit event names whom it is about (an account, a record of the school registry) in
columns of its own, so the log filters by person through an index; the events already kept
get theirs from their detail (``user_id`` or ``invitee_id``; ``person_id`` or
``student_id``). The indexes follow the log's filters, each in the order it is read:
newest first by (created_at, id). Columns are added, never the table rebuilt: the trail of a
region may be large.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "audit_event"
INDEXES = {
    "ix_audit_event_tenant_created_id": ["tenant", "created_at", "id"],
    "ix_audit_event_tenant_kind_created": ["tenant", "kind", "created_at"],
    "ix_audit_event_tenant_actor_created": ["tenant", "actor_id", "created_at"],
    "ix_audit_event_tenant_subject_created": ["tenant", "subject_id", "created_at"],
    "ix_audit_event_tenant_person_created": ["tenant", "subject_person_id", "created_at"],
}
SUBJECTS = {
    "subject_id": ("user_id", "invitee_id"),
    "subject_person_id": ("person_id", "student_id"),
}


def _id_in(key: str, dialect: str) -> str:
    """The detail's ``key`` when it holds a row id (an erased person's pseudonym does not)."""
    if dialect == "postgresql":
        return (f"CASE WHEN (detail->>'{key}') ~ '^[0-9]{{1,9}}$' "
                f"THEN (detail->>'{key}')::integer END")  # fmt: skip
    return (f"CASE WHEN json_type(detail, '$.{key}') = 'integer' "
            f"AND json_extract(detail, '$.{key}') BETWEEN 1 AND 2147483647 "
            f"THEN json_extract(detail, '$.{key}') END")  # fmt: skip


def upgrade():
    op.add_column(TABLE, sa.Column("subject_id", sa.Integer(), nullable=True))
    op.add_column(TABLE, sa.Column("subject_person_id", sa.Integer(), nullable=True))
    dialect = op.get_bind().dialect.name
    for column, keys in SUBJECTS.items():
        found = ", ".join(_id_in(key, dialect) for key in keys)
        op.execute(f"UPDATE {TABLE} SET {column} = COALESCE({found})")  # noqa: S608
    for name, columns in INDEXES.items():
        op.create_index(name, TABLE, columns, unique=False)
    op.drop_index("ix_audit_event_tenant_created", table_name=TABLE)


def downgrade():
    op.create_index("ix_audit_event_tenant_created", TABLE, ["tenant", "created_at"], unique=False)
    for name in INDEXES:
        op.drop_index(name, table_name=TABLE)
    with op.batch_alter_table(TABLE) as batch:
        batch.drop_column("subject_person_id")
        batch.drop_column("subject_id")
