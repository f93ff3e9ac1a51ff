"""retention and erasure: opt-outs kept as a hash, weekly statistics, the erasure code and the notice

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-14 10:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opt_outs',
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_opt_outs'))
    )
    op.create_table('weekly_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('figure', sa.String(length=16), nullable=False),
    sa.Column('hub', sa.String(length=64), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('residents', sa.Integer(), nullable=False),
    sa.Column('minutes', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_counts')),
    sa.UniqueConstraint('week', 'figure', 'hub', 'topic', 'language', 'outcome',
                        name=op.f('uq_weekly_counts_week'))
    )
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erasure_code', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('erasure_requested_at', sa.DateTime(timezone=True), nullable=True))
    # notified_at stays empty for residents already there: the notice goes with their next reply.


def downgrade() -> None:
    with op.batch_alter_table('residents', schema=None) as batch_op:
        batch_op.drop_column('erasure_requested_at')
        batch_op.drop_column('erasure_code')
        batch_op.drop_column('notified_at')
    op.drop_table('weekly_counts')
    op.drop_table('opt_outs')
