"""sign-in claims, stored sessions, one-time passwords, audit trail

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('coordinators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verifying_since', sa.DateTime(timezone=True), nullable=True))
        # Server defaults fill the accounts already there (SQLite and PostgreSQL alike).
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('handoff_id', sa.Integer(), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.Column('coordinator_id', sa.Integer(), nullable=True),
    sa.Column('count', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_handoff_id'), ['handoff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_handoff_id'))
        batch_op.drop_index(batch_op.f('ix_audit_at'))
        batch_op.drop_index(batch_op.f('ix_audit_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_action'))

    op.drop_table('audit')
    with op.batch_alter_table('coordinators', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('session_generation')
        batch_op.drop_column('verifying_since')
