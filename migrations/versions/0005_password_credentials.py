"""School-issued password credentials

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 19:41:08.177724

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('password_credential',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('must_change', sa.Boolean(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['issued_by'], ['user_account.id'], name=op.f('fk_password_credential_issued_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_password_credential_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_password_credential')),
    sa.UniqueConstraint('person_id', name=op.f('uq_password_credential_person_id')),
    sa.UniqueConstraint('tenant', 'login', name=op.f('uq_password_credential_tenant'))
    )



def downgrade():
    
    op.drop_table('password_credential')

