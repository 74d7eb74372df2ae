"""Read-side queries for the CLI and (later) reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, tuple_

from callcenter.store.tables import agent_events, call_steps, callbacks, calls

__all__ = ["last_agent_states", "latest_calls", "open_callbacks"]


def _json_ready(row: Any) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()}


def latest_calls(engine: Engine, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recent call records, newest first, as JSON-ready dicts, each with its steps."""
    query = select(calls).order_by(calls.c.started_at.desc(), calls.c.id.desc()).limit(limit)
    with engine.connect() as connection:
        records = [_json_ready(row) for row in connection.execute(query).mappings()]
        keys = [(record["node"], record["linkedid"]) for record in records]
        steps: dict[tuple[str, str], list[dict[str, Any]]] = {key: [] for key in keys}
        if keys:
            step_query = (
                select(call_steps)
                .where(tuple_(call_steps.c.node, call_steps.c.linkedid).in_(keys))
                .order_by(call_steps.c.at, call_steps.c.id)
            )
            for row in connection.execute(step_query).mappings():
                step = _json_ready(row)
                steps[(step.pop("node"), step.pop("linkedid"))].append(step)
    for record in records:
        record["steps"] = steps[(record["node"], record["linkedid"])]
    return records


def open_callbacks(engine: Engine, node: str) -> list[dict[str, Any]]:
    """Callbacks of this node not yet done or given up, in line order: what a restarted service takes back."""
    query = (
        select(callbacks)
        .where(callbacks.c.node == node, callbacks.c.status.in_(("pending", "dialling")))
        .order_by(callbacks.c.priority.desc(), callbacks.c.waiting_since)
    )
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


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
