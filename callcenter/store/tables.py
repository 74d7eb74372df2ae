"""SQLAlchemy table definitions. The schema itself is made by the alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "agent_events",
    "audit_log",
    "call_steps",
    "callbacks",
    "calls",
    "metadata",
    "monitor_sessions",
    "recordings",
]

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

call_steps = Table(
    "call_steps",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("linkedid", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("step", String(24), nullable=False),
    Column("queue", String(40), nullable=False, server_default=""),
    Column("agent", String(16), nullable=False, server_default=""),
    Column("position", Integer),
    Column("seconds", Float),
    Column("result", Text, nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default=""),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("node", "linkedid", "at", "step", "agent", name="call_steps_identity_key"),
    Index("call_steps_node_linkedid_idx", "node", "linkedid"),
    Index("call_steps_queue_at_idx", "queue", "at"),
    Index("call_steps_agent_at_idx", "agent", "at"),
)

callbacks = Table(
    "callbacks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("callback_id", String(64), nullable=False),
    Column("number", String(32), nullable=False),
    Column("queue", String(40), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("waiting_since", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("agent", String(16), nullable=False, server_default=""),
    Column("line", String(32), nullable=False, server_default=""),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("node", "callback_id", name="callbacks_node_callback_id_key"),
    Index("callbacks_status_idx", "node", "status"),
)

recordings = Table(
    "recordings",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("recording_id", String(96), nullable=False),
    Column("linkedid", String(64), nullable=False),
    Column("agent", String(16), nullable=False),
    Column("queue", String(40), nullable=False, server_default=""),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("path", Text, nullable=False),
    Column("format", String(8), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("retention_days", Integer, nullable=False),
    Column("pauses", JSONB, nullable=False, server_default="[]"),
    # Kept from purge whatever the retention: set and cleared by `callcenter recordings hold/release`.
    Column("legal_hold", Boolean, nullable=False, server_default="false"),
    Column("purged_at", DateTime(timezone=True)),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("node", "recording_id", name="recordings_node_recording_id_key"),
    Index("recordings_node_linkedid_idx", "node", "linkedid"),
    Index("recordings_started_at_idx", "started_at"),
    Index("recordings_agent_started_at_idx", "agent", "started_at"),
)

monitor_sessions = Table(
    "monitor_sessions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("session_id", String(96), nullable=False),
    Column("supervisor", String(16), nullable=False),
    Column("agent", String(16), nullable=False),
    Column("via", String(8), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    Column("modes", JSONB, nullable=False, server_default="[]"),
    Column("calls", JSONB, nullable=False, server_default="[]"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("node", "session_id", name="monitor_sessions_node_session_id_key"),
    Index("monitor_sessions_agent_started_at_idx", "agent", "started_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("node", String(64), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("target", String(96), nullable=False),
    Column("allowed", Boolean, nullable=False),
    Column("detail", Text, nullable=False, server_default=""),
    Column("written_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("node", "at", "actor", "action", "target", name="audit_log_identity_key"),
    Index("audit_log_at_idx", "at"),
)
