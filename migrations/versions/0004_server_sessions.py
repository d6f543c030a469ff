"""Server-side sessions (the local store)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 19:39:42.541216

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('server_session',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('last_seen_at', sa.Float(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_server_session'))
    )
    with op.batch_alter_table('server_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_server_session_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index('ix_server_session_user', ['tenant', 'user_id'], unique=False)




def downgrade():
    
    with op.batch_alter_table('server_session', schema=None) as batch_op:
        batch_op.drop_index('ix_server_session_user')
        batch_op.drop_index(batch_op.f('ix_server_session_expires_at'))

    op.drop_table('server_session')

