"""Regional administrators

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 19:31:19.745864

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('regional_admin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_regional_admin_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regional_admin')),
    sa.UniqueConstraint('tenant', 'user_id', name=op.f('uq_regional_admin_tenant'))
    )



def downgrade():
    
    op.drop_table('regional_admin')

