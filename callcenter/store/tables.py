"""SQLAlchemy table definitions. The schema itself is made by the alembic migrations."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
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
    "call_facts",
    "call_steps",
    "callbacks",
    "calls",
    "metadata",
    "monitor_sessions",
    "queue_contacts",
    "recordings",
    "rollup_agent_time",
    "rollup_line_calls",
    "rollup_marks",
    "rollup_marks_failed",
    "rollup_queue",
    "rollup_queue_agent",
    "web_sessions",
    "web_users",
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

web_users = Table(
    "web_users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # agent, supervisor or admin
    Column("extension", String(16), nullable=False, server_default=""),  # the agent or supervisor it speaks for
    Column("password_hash", Text, nullable=False),
    Column("disabled", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("password_changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("username", name="web_users_username_key"),
    CheckConstraint("role IN ('agent', 'supervisor', 'admin')", name="web_users_role_check"),
)

web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False),  # SHA-256 of the cookie's token, never the token
    Column("username", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("address", String(64), nullable=False, server_default=""),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("token_hash", name="web_sessions_token_hash_key"),
    Index("web_sessions_username_idx", "username"),
)

# --- rollups (migration 0008): facts per queue visit and per call, sums per 15-minute UTC interval ----------

# What changed since the maintainer last looked: written by the record writer in the same transaction as the
# raw rows, so no change goes unmarked; a replayed spool marks again, which only recomputes the same figures.
rollup_marks = Table(
    "rollup_marks",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("kind", String(8), nullable=False),  # call: (node, linkedid) changed; agent: an agent event at `at`
    Column("node", String(64), nullable=False),
    Column("key", String(64), nullable=False),  # the linkedid or the agent
    Column("at", DateTime(timezone=True)),
)

# Marks set aside: processing them failed with the database reachable (a record the facts cannot be made of).
rollup_marks_failed = Table(
    "rollup_marks_failed",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("kind", String(8), nullable=False),
    Column("node", String(64), nullable=False),
    Column("key", String(64), nullable=False),
    Column("at", DateTime(timezone=True)),
    Column("error", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def _contact_sum_columns() -> list[Column[int] | Column[float]]:
    """The additive columns of ``callcenter.kpi.sums.ContactSums``, in a fact row and in every rollup row."""
    counts = (
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
    seconds = ("talk_seconds", "hold_seconds", "wrapup_seconds", "answered_wait_seconds")
    columns: list[Column[int] | Column[float]] = [Column(name, Integer, nullable=False) for name in counts]
    columns += [Column(name, Float, nullable=False) for name in seconds]
    columns.append(Column("max_wait_seconds", Float))
    return columns


# One row per queue visit (a QueueContact with its sums), replaced whenever its call's records change.
queue_contacts = Table(
    "queue_contacts",
    metadata,
    Column("node", String(64), nullable=False),
    Column("linkedid", String(64), nullable=False),
    Column("visit", Integer, nullable=False),  # the contact's place among the call's queue visits
    Column("interval_start", DateTime(timezone=True), nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("queue", String(40), nullable=False),
    Column("line", String(32), nullable=False),
    Column("agent", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
    *_contact_sum_columns(),
    UniqueConstraint("node", "linkedid", "visit", name="queue_contacts_identity_key"),
    Index("queue_contacts_interval_idx", "interval_start"),
    Index("queue_contacts_agent_ended_at_idx", "agent", "ended_at"),
)

# One row per call with a record: the line's call counts (IVR containment), replaced with its call.
call_facts = Table(
    "call_facts",
    metadata,
    Column("node", String(64), nullable=False),
    Column("linkedid", String(64), nullable=False),
    Column("interval_start", DateTime(timezone=True), nullable=False),
    Column("line", String(32), nullable=False),
    Column("calls", Integer, nullable=False),
    Column("ivr_calls", Integer, nullable=False),
    Column("contained", Integer, nullable=False),
    UniqueConstraint("node", "linkedid", name="call_facts_identity_key"),
    Index("call_facts_interval_idx", "interval_start"),
)

# Contact sums by (interval, queue, line): by queue = summed over lines, by line = summed over queues.
rollup_queue = Table(
    "rollup_queue",
    metadata,
    Column("interval_start", DateTime(timezone=True), nullable=False),
    Column("queue", String(40), nullable=False),
    Column("line", String(32), nullable=False),
    *_contact_sum_columns(),
    UniqueConstraint("interval_start", "queue", "line", name="rollup_queue_key"),
)

# Contact sums of the contacts an agent answered, by (interval, queue, agent).
rollup_queue_agent = Table(
    "rollup_queue_agent",
    metadata,
    Column("interval_start", DateTime(timezone=True), nullable=False),
    Column("queue", String(40), nullable=False),
    Column("agent", String(16), nullable=False),
    *_contact_sum_columns(),
    UniqueConstraint("interval_start", "queue", "agent", name="rollup_queue_agent_key"),
)

# Call counts by (interval, line): IVR calls and those contained.
rollup_line_calls = Table(
    "rollup_line_calls",
    metadata,
    Column("interval_start", DateTime(timezone=True), nullable=False),
    Column("line", String(32), nullable=False),
    Column("calls", Integer, nullable=False),
    Column("ivr_calls", Integer, nullable=False),
    Column("contained", Integer, nullable=False),
    UniqueConstraint("interval_start", "line", name="rollup_line_calls_key"),
)

# Seconds per (interval, agent, state, pause reason), from the agents' closed state spans.
rollup_agent_time = Table(
    "rollup_agent_time",
    metadata,
    Column("interval_start", DateTime(timezone=True), nullable=False),
    Column("agent", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),
    Column("seconds", Float, nullable=False),
    UniqueConstraint("interval_start", "agent", "state", "reason", name="rollup_agent_time_key"),
)

# The FCR proxy looks for a caller's other calls within a window: by number, then time.
Index("calls_caller_number_started_at_idx", calls.c.caller_number, calls.c.started_at)
