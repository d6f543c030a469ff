"""One own consent per person: a unique index that treats the empty student as one value

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 14:40:00

A unique constraint over (kind, user_id, student_id) lets any number of rows with an empty
student_id through (NULLs are distinct in SQL), so two simultaneous submissions of the
own-consent form made two rows, and revoking one left the other in force. Duplicates are
merged first: one row stays, revoked if any of them was revoked.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    consent = sa.table(
        "consent",
        sa.column("id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("user_id", sa.Integer),
        sa.column("student_id", sa.Integer),
        sa.column("revoked_at", sa.DateTime(timezone=True)),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(consent.c.id, consent.c.kind, consent.c.user_id, consent.c.revoked_at)
        .where(consent.c.student_id.is_(None))
        .order_by(consent.c.id)
    ).all()
    kept: dict[tuple[str, int], tuple[int, object]] = {}
    for row in rows:
        key = (row.kind, row.user_id)
        if key not in kept:
            kept[key] = (row.id, row.revoked_at)
            continue
        keep_id, revoked = kept[key]
        revoked = revoked or row.revoked_at
        kept[key] = (keep_id, revoked)
        bind.execute(sa.delete(consent).where(consent.c.id == row.id))
        if revoked is not None:
            bind.execute(
                sa.update(consent).where(consent.c.id == keep_id).values(revoked_at=revoked)
            )
    op.create_index(
        "uq_consent_kind_user_no_student",
        "consent",
        ["kind", "user_id"],
        unique=True,
        sqlite_where=sa.text("student_id IS NULL"),
        postgresql_where=sa.text("student_id IS NULL"),
    )


def downgrade():
    op.drop_index("uq_consent_kind_user_no_student", table_name="consent")
