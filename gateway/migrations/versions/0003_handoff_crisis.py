"""handoff crisis flag; a crisis handoff may wait for a hub

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 12:50:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('crisis', sa.String(length=16), nullable=True))
        batch_op.alter_column('hub_id', existing_type=sa.INTEGER(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.alter_column('hub_id', existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column('crisis')
