"""Read-side queries for the CLI and (later) reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from callcenter.store.tables import calls

__all__ = ["latest_calls"]


def latest_calls(engine: Engine, limit: int) -> list[dict[str, Any]]:
    """The ``limit`` most recent call records, newest first, as JSON-ready dicts."""
    query = select(calls).order_by(calls.c.started_at.desc(), calls.c.id.desc()).limit(limit)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        {key: value.isoformat() if isinstance(value, datetime) else value for key, value in row.items()} for row in rows
    ]
