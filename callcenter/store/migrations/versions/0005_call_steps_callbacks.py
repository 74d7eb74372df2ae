"""call_steps (each step of a call in the queues) and callbacks (promises to call back, with their state)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_steps",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("step", sa.String(24), nullable=False),
        sa.Column("queue", sa.String(40), nullable=False, server_default=""),
        sa.Column("agent", sa.String(16), nullable=False, server_default=""),
        sa.Column("position", sa.Integer()),
        sa.Column("seconds", sa.Float()),
        sa.Column("result", sa.Text(), nullable=False, server_default=""),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("node", "linkedid", "at", "step", "agent", name="call_steps_identity_key"),
    )
    op.create_index("call_steps_node_linkedid_idx", "call_steps", ["node", "linkedid"])
    op.create_index("call_steps_queue_at_idx", "call_steps", ["queue", "at"])
    op.create_index("call_steps_agent_at_idx", "call_steps", ["agent", "at"])
    op.create_table(
        "callbacks",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("callback_id", sa.String(64), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(16), nullable=False, server_default=""),
        sa.Column("line", sa.String(32), nullable=False, server_default=""),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("node", "callback_id", name="callbacks_node_callback_id_key"),
    )
    op.create_index("callbacks_status_idx", "callbacks", ["node", "status"])


def downgrade() -> None:
    op.drop_table("callbacks")
    op.drop_table("call_steps")
