"""The audit spool's drained batches

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 03:40:00

On the embedded SQLite database a view's audit row is appended to a spool file beside the
database and moved into audit_event in groups (app/audit_spool.py). A group's name is written
here in the same transaction as its rows, and removed once its file is: a drain that stopped
in between finds the name and does not insert the rows again. A downgrade refuses while the
spool holds rows: the code before this revision would never move them.
"""

from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "audit_spool_batch",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("drained_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_spool_batch")),
    )


def downgrade():
    # The code before this revision never drains the spool: its rows would stay out of the
    # trail. It is emptied first (`flask --app wsgi audit drain`, the portal stopped).
    url = op.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        spool = Path(f"{url.database}-audit-spool")
        waiting = [p.name for p in spool.glob("*") if p.name != "lock" and p.stat().st_size]
        if waiting:
            raise RuntimeError(
                f"the audit spool {spool} holds rows ({', '.join(waiting)}): stop the portal "
                "and run `flask --app wsgi audit drain` before this downgrade"
            )
    op.drop_table("audit_spool_batch")
