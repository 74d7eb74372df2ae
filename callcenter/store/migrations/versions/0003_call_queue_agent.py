"""calls: the queue a call waited in, the agent who answered, when it was queued and connected

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("calls", sa.Column("queue", sa.String(40), nullable=False, server_default=""))
    op.add_column("calls", sa.Column("agent", sa.String(16), nullable=False, server_default=""))
    op.add_column("calls", sa.Column("queued_at", sa.DateTime(timezone=True)))
    op.add_column("calls", sa.Column("connected_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    for column in ("connected_at", "queued_at", "agent", "queue"):
        op.drop_column("calls", column)
