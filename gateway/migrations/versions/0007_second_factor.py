"""a second sign-in step (TOTP) for admins (issue 14)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 17:41:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
