"""calls: digits typed for inputs, and where the IVR handed the call

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("inputs", postgresql.JSONB(), nullable=False, server_default="{}"))
    op.add_column("calls", sa.Column("destination", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("calls", "destination")
    op.drop_column("calls", "inputs")
