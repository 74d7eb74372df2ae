"""Reports over any date range: the KPIs of GUIDE §3 per interval, hour, day, agent, queue or number.

The interface (what the CLI and the web pages call)::

    query = ReportQuery(start, end, by=Grouping.HOUR, queues=frozenset({"support"}), agent=None, tz="Europe/Moscow")
    rows: list[ReportRow] = report(connection, dialplan, query)              # sync Connection
    rows = await report_async(async_connection, dialplan, query)            # AsyncConnection

- ``start``/``end`` are aware datetimes; whole 15-minute UTC intervals starting in [start, end) are counted
  (``start`` is floored to its interval). ``ReportQuery`` raises ``ReportError`` (a ``ConfigError``) on a
  bad range or zone.
- ``queues``: only these queues (a supervisor's); their members' agent time (per ``dialplan``).
  ``agent``: only that agent's contacts and time (an agent's own figures). Both None: everything.
- ``by``: interval, hour and day (in ``tz``) rows carry staffed agents and the Erlang C hint; agent rows
  carry occupancy, utilization and pause time by reason; number rows carry IVR containment.
- ``source="rollups"`` (default) reads the rollup tables (``callcenter.store.rollups``); ``source="raw"``
  computes the same rows from the raw records (calls, call_steps, agent_events), for tests and benchmarks.
- Each ``ReportRow`` has ``contacts`` (``ContactSums``: counts and second totals), ``kpis`` (service-level
  variants, ASA, AHT, abandonment rate, FCR), ``agent_time``, ``calls`` (containment), ``staffed`` and
  ``hint``; ``callcenter.kpi.render`` turns rows into a table, CSV or JSON.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.dialplan.model import Dialplan
from callcenter.kpi.agent_time import INTERVAL, AgentTimeSlice, agent_time, interval_start
from callcenter.kpi.outcomes import CallOrigin, identifies_caller, repeated_calls
from callcenter.kpi.report import (
    CallRow,
    ContactRow,
    Grouping,
    HintSettings,
    ReportError,
    ReportQuery,
    ReportRow,
    agents_in_scope,
    build_report,
)
from callcenter.kpi.sums import SUM_FIELDS, CallSums, ContactSums
from callcenter.kpi.wrapup import wrapups_from_events
from callcenter.records import AgentEvent, CallStep
from callcenter.store.rollups import RollupSettings, StoredCall, calls_in, contact_facts, step_from_row, stored_call
from callcenter.store.tables import (
    agent_events,
    call_steps,
    calls,
    rollup_agent_time,
    rollup_line_calls,
    rollup_queue,
    rollup_queue_agent,
)

__all__ = [
    "Grouping",
    "ReportError",
    "ReportQuery",
    "ReportRow",
    "Source",
    "hint_settings",
    "report",
    "report_async",
]

Source = Literal["rollups", "raw"]
_CHUNK = 500


def hint_settings(dialplan: Dialplan, query: ReportQuery) -> HintSettings:
    """The staffing hint's goal and T (the one selected queue's, else the defaults) and queue membership."""
    members: dict[str, set[str]] = {}
    for agent in dialplan.agents:
        for queue in agent.queues:
            members.setdefault(queue, set()).add(agent.extension)
    frozen = {queue: frozenset(agents) for queue, agents in members.items()}
    if query.queues is not None and len(query.queues) == 1:
        (name,) = query.queues
        if name in dialplan.queues:
            level = dialplan.queues[name].service_level
            return HintSettings(level.goal, float(level.target_seconds), frozen)
    return HintSettings(members=frozen)


def report(
    connection: Connection, dialplan: Dialplan, query: ReportQuery, source: Source = "rollups"
) -> list[ReportRow]:
    """The report's rows (see the module's docstring)."""
    settings = hint_settings(dialplan, query)
    return build_report(query, *_gather(connection, dialplan, query, source, settings), settings)


async def report_async(
    connection: AsyncConnection, dialplan: Dialplan, query: ReportQuery, source: Source = "rollups"
) -> list[ReportRow]:
    """``report`` on an AsyncConnection, for the web: the rows are read on the event loop, the report is built
    in a worker thread (it is pure Python over the rows, and the loop also serves FastAGI and AMI)."""
    settings = hint_settings(dialplan, query)
    rows = await connection.run_sync(lambda sync: _gather(sync, dialplan, query, source, settings))
    return await asyncio.to_thread(build_report, query, *rows, settings)


def _gather(
    connection: Connection, dialplan: Dialplan, query: ReportQuery, source: Source, settings: HintSettings
) -> _Rows:
    agents = agents_in_scope(query, settings)
    if source == "rollups":
        return _from_rollups(connection, query, agents)
    if source == "raw":
        contact_rows, agent_rows, call_rows = _from_raw(connection, query, RollupSettings.from_dialplan(dialplan))
        return contact_rows, [piece for piece in agent_rows if agents is None or piece.agent in agents], call_rows
    raise ReportError(f"unknown report source {source!r}: rollups or raw")


def _sums(row: Any) -> ContactSums:
    values = {name: getattr(row, name) for name in SUM_FIELDS}
    return ContactSums(**values, max_wait_seconds=row.max_wait_seconds)


_Rows = tuple[list[ContactRow], list[AgentTimeSlice], list[CallRow]]


def _from_rollups(connection: Connection, query: ReportQuery, agents: frozenset[str] | None) -> _Rows:
    """The rollup rows the report needs, summed in PostgreSQL as far as the grouping allows.

    A report by time keeps each interval (hours and days are made in the query's zone from them) but sums
    over agents and, unless the report is by number, over lines; a report by agent, queue or number sums
    over the intervals too. The interval a summed row carries is then its earliest (any in range will do).
    A one-day report reads a few hundred rows, a 30-day report by agent a few hundred, not every agent's
    interval.
    """
    first, end = query.first_interval, query.end_utc
    by_time = query.by.by_time
    table, key = (rollup_queue_agent, "agent") if query.about_agents else (rollup_queue, "line")
    where = [table.c.interval_start >= first, table.c.interval_start < end]
    if query.queues is not None:
        where.append(table.c.queue.in_(sorted(query.queues)))
    if query.agent is not None:
        where.append(table.c.agent == query.agent)
    keep_key = query.by in (Grouping.AGENT, Grouping.NUMBER) or query.agent is not None
    key_column = table.c[key] if keep_key else literal("").label(key)
    interval = table.c.interval_start if by_time else func.min(table.c.interval_start).label("interval_start")
    groups = [table.c.queue, *([table.c[key]] if keep_key else []), *([table.c.interval_start] if by_time else [])]
    summed = (
        select(
            interval,
            table.c.queue,
            key_column,
            *(func.sum(table.c[name]).label(name) for name in SUM_FIELDS),
            func.max(table.c.max_wait_seconds).label("max_wait_seconds"),
        )
        .where(*where)
        .group_by(*groups)
    )
    contact_rows = [
        ContactRow(row.interval_start, row.queue, getattr(row, key), _sums(row)) for row in connection.execute(summed)
    ]
    time = rollup_agent_time
    agent_where = [time.c.interval_start >= first, time.c.interval_start < end]
    if agents is not None:
        agent_where.append(time.c.agent.in_(sorted(agents)))
    by_agent = query.by is Grouping.AGENT
    agent_column = time.c.agent if by_agent else literal("").label("agent")
    agent_interval = time.c.interval_start if by_time else func.min(time.c.interval_start).label("interval_start")
    agent_groups = [time.c.state, time.c.reason, *([time.c.agent] if by_agent else [])]
    agent_groups += [time.c.interval_start] if by_time else []
    agent_rows = [
        AgentTimeSlice(row.interval_start, row.agent, row.state, row.reason, row.seconds)
        for row in connection.execute(
            select(agent_interval, agent_column, time.c.state, time.c.reason, func.sum(time.c.seconds).label("seconds"))
            .where(*agent_where)
            .group_by(*agent_groups)
        )
    ]
    lines = rollup_line_calls
    line_interval = lines.c.interval_start if by_time else func.min(lines.c.interval_start).label("interval_start")
    call_rows = [
        CallRow(row.interval_start, row.line, CallSums(row.calls, row.ivr_calls, row.contained))
        for row in connection.execute(
            select(
                line_interval,
                lines.c.line,
                func.sum(lines.c.calls).label("calls"),
                func.sum(lines.c.ivr_calls).label("ivr_calls"),
                func.sum(lines.c.contained).label("contained"),
            )
            .where(lines.c.interval_start >= first, lines.c.interval_start < end)
            .group_by(lines.c.line, *([lines.c.interval_start] if by_time else []))
        )
    ]
    return contact_rows, agent_rows, call_rows


def _from_raw(connection: Connection, query: ReportQuery, settings: RollupSettings) -> _Rows:
    """The same rows computed from the raw records, with the pure functions alone (no fact or rollup table)."""
    first = query.first_interval
    end = interval_start(query.end_utc - timedelta(microseconds=1)) + INTERVAL  # whole intervals
    keys = {
        (row.node, row.linkedid)
        for row in connection.execute(
            select(call_steps.c.node, call_steps.c.linkedid)
            .where(call_steps.c.step == "queued", call_steps.c.at >= first, call_steps.c.at < end)
            .distinct()
        )
    }
    keys |= {
        (row.node, row.linkedid)
        for row in connection.execute(
            select(calls.c.node, calls.c.linkedid).where(calls.c.started_at >= first, calls.c.started_at < end)
        )
    }
    ordered = sorted(keys)
    stored: dict[tuple[str, str], StoredCall] = {}
    steps: dict[tuple[str, str], list[CallStep]] = {}
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start : start + _CHUNK]
        for row in connection.execute(select(calls).where(calls_in(calls, chunk))):
            stored[(row.node, row.linkedid)] = stored_call(row)
        for row in connection.execute(
            select(call_steps).where(calls_in(call_steps, chunk)).order_by(call_steps.c.at, call_steps.c.id)
        ):
            steps.setdefault((row.node, row.linkedid), []).append(step_from_row(row))

    repeated = _repeated(connection, list(stored.values()), settings)
    latest_end = max((s.at for call_steps_ in steps.values() for s in call_steps_), default=end)
    events = _events(connection, first, max(end, latest_end + settings.wrapup_tolerance))
    contact_facts_, call_facts_ = contact_facts(ordered, stored, steps, wrapups_from_events(events), repeated, settings)
    about_agents = query.about_agents
    contact_rows = [
        ContactRow(interval_start(c.entered_at), c.queue, c.agent if about_agents else c.line, sums)
        for _, c, sums in contact_facts_
        if not about_agents or c.agent
    ]
    call_rows = [
        CallRow(row["interval_start"], row["line"], CallSums(row["calls"], row["ivr_calls"], row["contained"]))
        for row in call_facts_
    ]
    return contact_rows, agent_time(events, first, end), call_rows


def _repeated(connection: Connection, stored: Sequence[StoredCall], settings: RollupSettings) -> set[tuple[str, str]]:
    callers = sorted({call.caller for call in stored if identifies_caller(call.caller)})
    if not callers:
        return set()
    first = min(call.started_at for call in stored)
    last = max(call.started_at for call in stored) + settings.fcr_window
    origins: list[CallOrigin[tuple[str, str]]] = []
    for start in range(0, len(callers), _CHUNK):
        rows = connection.execute(
            select(calls.c.node, calls.c.linkedid, calls.c.caller_number, calls.c.started_at).where(
                calls.c.caller_number.in_(callers[start : start + _CHUNK]),
                calls.c.started_at >= first,
                calls.c.started_at <= last,
            )
        )
        origins.extend(CallOrigin((r.node, r.linkedid), r.caller_number, r.started_at) for r in rows)
    return repeated_calls(origins, settings.fcr_window)


def _events(connection: Connection, first: datetime, last: datetime) -> list[AgentEvent]:
    """Every agent's events in [first, last], with the one before ``first`` and the one after ``last``."""
    agents = connection.execute(select(agent_events.c.agent).distinct()).scalars().all()
    events: list[AgentEvent] = []
    for agent in agents:
        mine = agent_events.c.agent == agent
        before = connection.execute(select(func.max(agent_events.c.at)).where(mine, agent_events.c.at < first))
        after = connection.execute(select(func.min(agent_events.c.at)).where(mine, agent_events.c.at > last))
        low, high = before.scalar_one() or first, after.scalar_one() or last
        rows = connection.execute(
            select(agent_events)
            .where(mine, agent_events.c.at >= low, agent_events.c.at <= high)
            .order_by(agent_events.c.at, agent_events.c.id)
        )
        events.extend(AgentEvent(r.node, r.agent, r.state, r.reason, r.at) for r in rows)
    return events
