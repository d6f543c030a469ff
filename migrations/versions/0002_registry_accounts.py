"""School registry, accounts, consents, notifications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:15:22.063712

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('person',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('middle_name', sa.String(length=100), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('snils', sa.String(length=11), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=15), nullable=True),
    sa.Column('name_key', sa.String(length=310), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('tenant', 'key', name=op.f('uq_person_tenant'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index('ix_person_tenant_email', ['tenant', 'email'], unique=False)
        batch_op.create_index('ix_person_tenant_name_key', ['tenant', 'name_key'], unique=False)
        batch_op.create_index('ix_person_tenant_phone', ['tenant', 'phone'], unique=False)
        batch_op.create_index('ix_person_tenant_snils', ['tenant', 'snils'], unique=False)

    op.create_table('school',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=400), nullable=False),
    sa.Column('short_name', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school')),
    sa.UniqueConstraint('tenant', 'key', name=op.f('uq_school_tenant'))
    )
    op.create_table('guardianship',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['guardian_id'], ['person.id'], name=op.f('fk_guardianship_guardian_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['student_id'], ['person.id'], name=op.f('fk_guardianship_student_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardianship')),
    sa.UniqueConstraint('guardian_id', 'student_id', name=op.f('uq_guardianship_guardian_id'))
    )
    with op.batch_alter_table('guardianship', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardianship_guardian_id'), ['guardian_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_guardianship_student_id'), ['student_id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('recipient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('about_id', sa.Integer(), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['about_id'], ['person.id'], name=op.f('fk_notification_about_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recipient_id'], ['person.id'], name=op.f('fk_notification_recipient_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('kind', 'recipient_id', 'about_id', name=op.f('uq_notification_kind'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_recipient', ['recipient_id', 'resolved_at'], unique=False)

    op.create_table('school_class',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_school_class_school_id_school'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_school_class')),
    sa.UniqueConstraint('school_id', 'name', name=op.f('uq_school_class_school_id'))
    )
    op.create_table('staff_role',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_staff_role_person_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['school_id'], ['school.id'], name=op.f('fk_staff_role_school_id_school'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_role')),
    sa.UniqueConstraint('person_id', 'school_id', 'role', name=op.f('uq_staff_role_person_id'))
    )
    with op.batch_alter_table('staff_role', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_role_person_id'), ['person_id'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('issuer', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=310), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_user_account_person_id_person'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('tenant', 'issuer', 'subject', name=op.f('uq_user_account_tenant'))
    )
    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=True),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['student_id'], ['person.id'], name=op.f('fk_consent_student_id_person'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_consent_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    sa.UniqueConstraint('kind', 'user_id', 'student_id', name=op.f('uq_consent_kind'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index('ix_consent_student', ['student_id'], unique=False)

    op.create_table('enrolment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('class_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['school_class.id'], name=op.f('fk_enrolment_class_id_school_class'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_enrolment_person_id_person'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment')),
    sa.UniqueConstraint('person_id', 'class_id', name=op.f('uq_enrolment_person_id'))
    )
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_person_id'), ['person_id'], unique=False)




def downgrade():
    
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_person_id'))

    op.drop_table('enrolment')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_student')

    op.drop_table('consent')
    op.drop_table('user_account')
    with op.batch_alter_table('staff_role', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_role_person_id'))

    op.drop_table('staff_role')
    op.drop_table('school_class')
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_recipient')

    op.drop_table('notification')
    with op.batch_alter_table('guardianship', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardianship_student_id'))
        batch_op.drop_index(batch_op.f('ix_guardianship_guardian_id'))

    op.drop_table('guardianship')
    op.drop_table('school')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index('ix_person_tenant_snils')
        batch_op.drop_index('ix_person_tenant_phone')
        batch_op.drop_index('ix_person_tenant_name_key')
        batch_op.drop_index('ix_person_tenant_email')

    op.drop_table('person')

