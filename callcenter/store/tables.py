"""SQLAlchemy table definitions. The schema itself is made by the alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = ["agent_events", "calls", "metadata"]

metadata = MetaData()

calls = Table(
    "calls",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    # A linkedid is unique per Asterisk node only; the pair is the call's identity.
    Column("node", String(64), nullable=False),
    Column("linkedid", String(64), nullable=False),
    Column("uniqueid", String(64), nullable=False),
    Column("dialled_raw", Text, nullable=False),
    Column("dialled_number", String(32)),
    Column("caller_number", Text, nullable=False),
    Column("caller_name", Text, nullable=False),
    Column("language", String(8), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True), nullable=False),
    Column("ivr_path", JSONB, nullable=False),
    Column("digits", Text, nullable=False),
    Column("inputs", JSONB, nullable=False, server_default="{}"),
    Column("destination", Text, nullable=False, server_default=""),
    Column("queue", String(40), nullable=False, server_default=""),
    Column("agent", String(16), nullable=False, server_default=""),
    Column("queued_at", DateTime(timezone=True)),
    Column("connected_at", DateTime(timezone=True)),
    Column("outcome", String(32), nullable=False),
    Column("outcome_reason", Text, nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("node", "linkedid", name="calls_node_linkedid_key"),
    Index("calls_started_at_idx", "started_at"),
    Index("calls_dialled_number_started_at_idx", "dialled_number", "started_at"),
)

agent_events = Table(
    "agent_events",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("agent", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # A replayed spool writes the same event again: the key makes it one row.
    UniqueConstraint("node", "agent", "at", "state", name="agent_events_node_agent_at_state_key"),
    Index("agent_events_agent_at_idx", "agent", "at"),
)
