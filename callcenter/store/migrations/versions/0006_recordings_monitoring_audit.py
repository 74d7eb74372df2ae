"""recordings (stereo files of calls, their retention and legal hold), monitor_sessions (supervisors
listening, whispering, barging) and audit_log (who fetched a recording, who monitored whom, who was refused)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recordings",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("recording_id", sa.String(96), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("queue", sa.String(40), nullable=False, server_default=""),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("pauses", JSONB(), nullable=False, server_default="[]"),
        sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default="false"),
        sa.Column("purged_at", sa.DateTime(timezone=True)),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("node", "recording_id", name="recordings_node_recording_id_key"),
    )
    op.create_index("recordings_node_linkedid_idx", "recordings", ["node", "linkedid"])
    op.create_index("recordings_started_at_idx", "recordings", ["started_at"])
    op.create_index("recordings_agent_started_at_idx", "recordings", ["agent", "started_at"])
    op.create_table(
        "monitor_sessions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("session_id", sa.String(96), nullable=False),
        sa.Column("supervisor", sa.String(16), nullable=False),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        sa.Column("modes", JSONB(), nullable=False, server_default="[]"),
        sa.Column("calls", JSONB(), nullable=False, server_default="[]"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("node", "session_id", name="monitor_sessions_node_session_id_key"),
    )
    op.create_index("monitor_sessions_agent_started_at_idx", "monitor_sessions", ["agent", "started_at"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.String(96), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False, server_default=""),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("node", "at", "actor", "action", "target", name="audit_log_identity_key"),
    )
    op.create_index("audit_log_at_idx", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("monitor_sessions")
    op.drop_table("recordings")
