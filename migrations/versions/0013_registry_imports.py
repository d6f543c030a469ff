"""Registry imports from the web

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 23:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "registry_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("fmt", sa.String(length=8), nullable=False),
        sa.Column("replace", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("running_tenant", sa.String(length=32), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_by_id", sa.Integer(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("lines_total", sa.Integer(), nullable=False),
        sa.Column("lines_done", sa.Integer(), nullable=False),
        sa.Column("records", sa.JSON(), nullable=False),
        sa.Column("problem_count", sa.Integer(), nullable=False),
        sa.Column("skipped_lines", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("failure", sa.String(length=32), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["applied_by_id"],
            ["user_account.id"],
            name=op.f("fk_registry_import_applied_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_registry_import_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_import")),
        sa.UniqueConstraint("running_tenant", name=op.f("uq_registry_import_running_tenant")),
    )
    op.create_index(op.f("ix_registry_import_tenant"), "registry_import", ["tenant"], unique=False)
    op.create_table(
        "registry_import_chunk",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["registry_import.id"],
            name=op.f("fk_registry_import_chunk_job_id_registry_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "seq", name=op.f("pk_registry_import_chunk")),
    )
    op.create_table(
        "registry_import_problem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=64), nullable=False),
        sa.Column("message", sa.String(length=300), nullable=False),
        sa.Column("english", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["registry_import.id"],
            name=op.f("fk_registry_import_problem_job_id_registry_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_import_problem")),
    )
    op.create_index(
        "ix_registry_import_problem_job_line",
        "registry_import_problem",
        ["job_id", "line", "id"],
        unique=False,
    )
    op.create_table(
        "registry_import_row",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("k1", sa.String(length=64), nullable=False),
        sa.Column("k2", sa.String(length=64), nullable=False),
        sa.Column("k3", sa.String(length=64), nullable=False),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.Column("full_name", sa.String(length=400), nullable=True),
        sa.Column("short_name", sa.String(length=120), nullable=True),
        sa.Column("search_key", sa.String(length=400), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("middle_name", sa.String(length=100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("snils", sa.String(length=11), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=15), nullable=True),
        sa.Column("name_key", sa.String(length=310), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["registry_import.id"],
            name=op.f("fk_registry_import_row_job_id_registry_import"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_import_row")),
        sa.UniqueConstraint(
            "job_id", "kind", "k1", "k2", "k3", name=op.f("uq_registry_import_row_job_id")
        ),
    )
    op.create_index(
        "ix_registry_import_row_job_line", "registry_import_row", ["job_id", "line"], unique=False
    )


def downgrade():
    op.drop_index("ix_registry_import_row_job_line", table_name="registry_import_row")
    op.drop_table("registry_import_row")
    op.drop_index("ix_registry_import_problem_job_line", table_name="registry_import_problem")
    op.drop_table("registry_import_problem")
    op.drop_table("registry_import_chunk")
    op.drop_index(op.f("ix_registry_import_tenant"), table_name="registry_import")
    op.drop_table("registry_import")
