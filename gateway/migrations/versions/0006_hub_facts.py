"""hub facts kept by coordinators in the inbox (issue 12 section 5)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 17:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # opening_hours (free text) gives way to structured hours; its only values came from
    # data/hubs.yml, which the gateway syncs again at start (gateway.store.sync_hubs).
    with op.batch_alter_table('hubs', schema=None) as batch_op:
        batch_op.drop_column('opening_hours')
        batch_op.add_column(sa.Column('hours', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('drop_in', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('languages', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('closed_days', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('edited', sa.JSON(), nullable=True))

    op.create_table('hub_fact_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('hub_id', sa.Integer(), nullable=False),
    sa.Column('fact', sa.String(length=32), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['hub_id'], ['hubs.id'], name=op.f('fk_hub_fact_changes_hub_id_hubs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hub_fact_changes'))
    )
    with op.batch_alter_table('hub_fact_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_fact_changes_hub_id'), ['hub_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('hub_fact_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_fact_changes_hub_id'))

    op.drop_table('hub_fact_changes')
    with op.batch_alter_table('hubs', schema=None) as batch_op:
        batch_op.drop_column('edited')
        batch_op.drop_column('closed_days')
        batch_op.drop_column('languages')
        batch_op.drop_column('drop_in')
        batch_op.drop_column('hours')
        batch_op.add_column(sa.Column('opening_hours', sa.String(length=300), nullable=True))
