"""Read-side queries for the CLI and (later) reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from callcenter.store.tables import agent_events, calls

__all__ = ["last_agent_states", "latest_calls"]


def latest_calls(engine: Engine, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recent call records, newest first, as JSON-ready dicts."""
    query = select(calls).order_by(calls.c.started_at.desc(), calls.c.id.desc()).limit(limit)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()} for row in rows
    ]


def last_agent_states(engine: Engine, node: str) -> dict[str, tuple[str, str]]:
    """Each agent's last recorded (state, reason) on this node: what a restarted service resumes from."""
    query = (
        select(agent_events.c.agent, agent_events.c.state, agent_events.c.reason)
        .where(agent_events.c.node == node)
        .order_by(agent_events.c.agent, agent_events.c.at.desc(), agent_events.c.id.desc())
        .distinct(agent_events.c.agent)
    )
    with engine.connect() as connection:
        return {row.agent: (row.state, row.reason) for row in connection.execute(query)}
