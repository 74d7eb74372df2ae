"""rollups: marks of changed calls and agent events, per-visit and per-call facts, and sums per 15-minute
interval by (queue, line), (queue, agent), line (calls) and (agent, state, reason)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_COUNTS = (
    "offered",
    "answered",
    "abandoned",
    "short_abandoned",
    "overflowed",
    "callbacks",
    "transferred",
    "answered_within_target",
    "abandoned_within_target",
    "handled",
    "ring_no_answer",
    "resolved",
)
_SECONDS = ("talk_seconds", "hold_seconds", "wrapup_seconds", "answered_wait_seconds")


def _sums() -> list[sa.Column[int] | sa.Column[float]]:
    columns: list[sa.Column[int] | sa.Column[float]] = [sa.Column(n, sa.Integer(), nullable=False) for n in _COUNTS]
    columns += [sa.Column(name, sa.Float(), nullable=False) for name in _SECONDS]
    columns.append(sa.Column("max_wait_seconds", sa.Float()))
    return columns


def upgrade() -> None:
    op.create_table(
        "rollup_marks",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "queue_contacts",
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("line", sa.String(32), nullable=False),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
        *_sums(),
        sa.UniqueConstraint("node", "linkedid", "visit", name="queue_contacts_identity_key"),
    )
    op.create_index("queue_contacts_interval_idx", "queue_contacts", ["interval_start"])
    op.create_index("queue_contacts_agent_ended_at_idx", "queue_contacts", ["agent", "ended_at"])
    op.create_table(
        "call_facts",
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.String(32), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("ivr_calls", sa.Integer(), nullable=False),
        sa.Column("contained", sa.Integer(), nullable=False),
        sa.UniqueConstraint("node", "linkedid", name="call_facts_identity_key"),
    )
    op.create_index("call_facts_interval_idx", "call_facts", ["interval_start"])
    op.create_table(
        "rollup_queue",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("line", sa.String(32), nullable=False),
        *_sums(),
        sa.UniqueConstraint("interval_start", "queue", "line", name="rollup_queue_key"),
    )
    op.create_table(
        "rollup_queue_agent",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.String(40), nullable=False),
        sa.Column("agent", sa.String(16), nullable=False),
        *_sums(),
        sa.UniqueConstraint("interval_start", "queue", "agent", name="rollup_queue_agent_key"),
    )
    op.create_table(
        "rollup_line_calls",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("line", sa.String(32), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("ivr_calls", sa.Integer(), nullable=False),
        sa.Column("contained", sa.Integer(), nullable=False),
        sa.UniqueConstraint("interval_start", "line", name="rollup_line_calls_key"),
    )
    op.create_table(
        "rollup_agent_time",
        sa.Column("interval_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("agent", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.UniqueConstraint("interval_start", "agent", "state", "reason", name="rollup_agent_time_key"),
    )
    op.create_index("calls_caller_number_started_at_idx", "calls", ["caller_number", "started_at"])
    # Every call and agent event written before the rollups existed is marked: the first maintainer pass
    # (or `callcenter report rebuild`) makes their figures.
    op.execute("INSERT INTO rollup_marks (kind, node, key) SELECT 'call', node, linkedid FROM calls")
    op.execute(
        "INSERT INTO rollup_marks (kind, node, key) SELECT DISTINCT 'call', node, linkedid FROM call_steps"
        " WHERE (node, linkedid) NOT IN (SELECT node, linkedid FROM calls)"
    )
    op.execute("INSERT INTO rollup_marks (kind, node, key, at) SELECT 'agent', node, agent, at FROM agent_events")


def downgrade() -> None:
    op.drop_index("calls_caller_number_started_at_idx", table_name="calls")
    for table in (
        "rollup_agent_time",
        "rollup_line_calls",
        "rollup_queue_agent",
        "rollup_queue",
        "call_facts",
        "queue_contacts",
        "rollup_marks",
    ):
        op.drop_table(table)
