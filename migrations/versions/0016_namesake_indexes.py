"""Namesakes' lookups stop at their limit

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 03:00:00

The access decision asks for the first 20 records of a normalised full name by id, and for
the name with a birth date. On (tenant, name_key) alone, every namesake of a common name was
read and sorted first: hundreds in a region of millions. (tenant, name_key, id) hands them
over in id order, so the scan stops at 20; (tenant, name_key, birth_date) finds the name with
its birth date directly. The first replaces the old index, which it covers.
"""

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_person_tenant_name_key_id", "person", ["tenant", "name_key", "id"])
    op.create_index(
        "ix_person_tenant_name_key_birth_date", "person", ["tenant", "name_key", "birth_date"]
    )
    op.drop_index("ix_person_tenant_name_key", table_name="person")


def downgrade():
    op.create_index("ix_person_tenant_name_key", "person", ["tenant", "name_key"])
    op.drop_index("ix_person_tenant_name_key_birth_date", table_name="person")
    op.drop_index("ix_person_tenant_name_key_id", table_name="person")
