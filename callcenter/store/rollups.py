"""Rollups: KPI sums per 15-minute UTC interval, kept up to date incrementally from the raw records.

Theory of operation
-------------------
Two fact tables sit between the raw records and the sums:

- ``queue_contacts``: one row per queue visit (``kpi.contacts.QueueContact``) with its additive sums
  (``kpi.sums.contact_sums``: counts and seconds under its queue's thresholds, wrap-up attributed from
  the agent's history, FCR resolved or not). A call's rows are *replaced* whenever anything of the call
  changes, so a late step, a call record arriving after its steps or a transfer simply recomputes it.
- ``call_facts``: one row per call record: the call counts of its line (IVR calls, contained).

Rollup rows are sums of facts: ``rollup_queue`` by (interval, queue, line) — a report by queue sums over
lines, one by number (8-800 line) over queues, so one table serves both and the queue filter works with
either — ``rollup_queue_agent`` by (interval, queue, agent) for the contacts agents answered,
``rollup_line_calls`` by (interval, line), and ``rollup_agent_time`` by (interval, agent, state, reason)
from the agents' closed state spans (``kpi.agent_time``). An interval is the one the contact entered
the queue in (the call started in, for call counts).

Incremental upkeep: the record writer adds ``rollup_marks`` rows (``marks_for``) in the transaction that
writes the raw rows, so a crash loses no mark and a replayed spool only marks again. ``process_marks``
takes a bounded batch of marks in one transaction (an advisory lock keeps two maintainers apart):

1. agent marks: for each agent, the span from its event before the earliest mark to its event after the
   latest one is cut again into interval seconds (only the intervals it touches are replaced), and the
   calls that agent ended in that span are marked for step 2 (their wrap-up may have changed);
2. call marks (and the calls of step 1): the calls' earlier calls from the same number within the FCR
   window join them (a repeat call makes an earlier answered call unresolved); each call's facts are
   recomputed and replaced;
3. every interval whose facts changed (before or after) is summed again from its facts.

``maintain_rollups`` runs this every few seconds for the service; ``rebuild`` recomputes everything (or
a date range) from the raw records. Thresholds (a queue's ``service_level``) are applied when a contact's
facts are computed: after changing them, run ``callcenter report rebuild`` over the period the new
thresholds should cover (figures already rolled up keep the thresholds they were computed with).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, func, insert, literal, or_, select
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from callcenter.dialplan.model import Dialplan
from callcenter.kpi.agent_time import INTERVAL, AgentTimeSlice, agent_time, interval_start
from callcenter.kpi.contacts import QueueContact, contacts_from_steps
from callcenter.kpi.measures import Thresholds
from callcenter.kpi.outcomes import CALLER_NUMBER_PATTERN, FCR_WINDOW, contained, ivr_call
from callcenter.kpi.sums import SUM_FIELDS, ContactSums, contact_sums
from callcenter.kpi.wrapup import DEFAULT_TOLERANCE, WrapUp, attribute_wrapup
from callcenter.records import AgentEvent, CallRecord, CallStep, CallUpdate, Outcome, Record, StepKind
from callcenter.store.tables import (
    agent_events,
    call_facts,
    call_steps,
    calls,
    queue_contacts,
    rollup_agent_time,
    rollup_line_calls,
    rollup_marks,
    rollup_marks_failed,
    rollup_queue,
    rollup_queue_agent,
)

__all__ = [
    "MARK_BATCH",
    "RebuildReport",
    "RollupSettings",
    "StoredCall",
    "calls_in",
    "contact_facts",
    "maintain_rollups",
    "marks_for",
    "process_marks",
    "rebuild",
    "step_from_row",
    "stored_call",
]

log = logging.getLogger(__name__)

MARK_BATCH = 5000  # marks a pass takes at most: ~10 s of calls at 100 calls/s (a call leaves a few)
_CHUNK = 2000  # calls per IN list (a few ms per probe of the index)
_LOCK = 0x6B70_6931  # pg_advisory_xact_lock key: one maintainer or rebuild at a time
_SUM_COLUMNS = (*SUM_FIELDS, "max_wait_seconds")


@dataclass(frozen=True)
class RollupSettings:
    """What the facts are computed with: each queue's thresholds, the FCR window, the wrap-up tolerance."""

    thresholds: Mapping[str, Thresholds] = field(default_factory=dict)
    fcr_window: timedelta = FCR_WINDOW
    wrapup_tolerance: timedelta = DEFAULT_TOLERANCE

    @classmethod
    def from_dialplan(cls, dialplan: Dialplan) -> RollupSettings:
        return cls(
            {
                name: Thresholds(float(q.service_level.target_seconds), float(q.service_level.short_abandon_seconds))
                for name, q in dialplan.queues.items()
            }
        )

    def of(self, queue: str) -> Thresholds:
        return self.thresholds.get(queue, Thresholds())


# --- marks (the writer's part) -----------------------------------------------------------------------------


def marks_for(batch: Sequence[Record]) -> list[dict[str, Any]]:
    """``rollup_marks`` rows for what a batch of records changes: its calls and its agents' histories."""
    marks: dict[tuple[str, str, str, datetime | None], None] = {}
    for record in batch:
        if isinstance(record, CallRecord | CallStep | CallUpdate):
            marks[("call", record.node, record.linkedid, None)] = None
        elif isinstance(record, AgentEvent):
            marks[("agent", record.node, record.agent, record.at)] = None
    return [{"kind": kind, "node": node, "key": key, "at": at} for kind, node, key, at in marks]


# --- facts ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredCall:
    """The parts of a call record the facts need."""

    node: str
    linkedid: str
    line: str
    caller: str
    started_at: datetime
    outcome: Outcome
    ivr_steps: int
    reached_queue: bool


def step_from_row(row: Any) -> CallStep:
    return CallStep(
        row.node,
        row.linkedid,
        row.at,
        StepKind(row.step),
        row.queue,
        row.agent,
        row.position,
        row.seconds,
        row.result,
        row.detail,
    )


def stored_call(row: Any) -> StoredCall:
    return StoredCall(
        row.node,
        row.linkedid,
        row.dialled_number or "",
        row.caller_number,
        row.started_at,
        Outcome(row.outcome),
        len(row.ivr_path or ()),
        row.queued_at is not None or str(row.destination).startswith("queue:"),
    )


def contact_facts(
    keys: Sequence[tuple[str, str]],
    stored: Mapping[tuple[str, str], StoredCall],
    steps: Mapping[tuple[str, str], Sequence[CallStep]],
    wrapups: Sequence[WrapUp],
    repeated: set[tuple[str, str]],
    settings: RollupSettings,
) -> tuple[list[tuple[int, QueueContact, ContactSums]], list[dict[str, Any]]]:
    """The facts of some calls: (visit, contact, sums) per queue visit, and one call_facts row per record.

    Shared by the rollups and the raw-source reports, so both apply the same definitions.
    """
    visits: list[tuple[int, QueueContact]] = []
    for key in keys:
        call = stored.get(key)
        contacts = contacts_from_steps(steps.get(key, ()), call.line if call is not None else "")
        visits.extend(enumerate(contacts))
    with_wrapup = attribute_wrapup([contact for _, contact in visits], wrapups, settings.wrapup_tolerance)
    contact_rows = [
        (visit, c, contact_sums(c, settings.of(c.queue), (c.node, c.linkedid) in repeated))
        for (visit, _), c in zip(visits, with_wrapup, strict=True)
    ]
    call_rows = [
        {
            "node": call.node,
            "linkedid": call.linkedid,
            "interval_start": interval_start(call.started_at),
            "line": call.line,
            "calls": 1,
            "ivr_calls": int(ivr_call(call.outcome, call.ivr_steps)),
            "contained": int(contained(call.outcome, call.ivr_steps, call.reached_queue)),
        }
        for key in keys
        if (call := stored.get(key)) is not None
    ]
    return contact_rows, call_rows


def _fact_row(visit: int, contact: QueueContact, sums: ContactSums) -> dict[str, Any]:
    return {
        "node": contact.node,
        "linkedid": contact.linkedid,
        "visit": visit,
        "interval_start": interval_start(contact.entered_at),
        "entered_at": contact.entered_at,
        "queue": contact.queue,
        "line": contact.line,
        "agent": contact.agent,
        "outcome": str(contact.outcome),
        "ended_at": contact.ended_at,
        **{name: getattr(sums, name) for name in _SUM_COLUMNS},
    }


def calls_in(table: Any, keys: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """``(table.node, table.linkedid)`` among ``keys``, as ``node = n AND linkedid IN (...)`` per node.

    PostgreSQL plans a row-value IN list as one index probe per pair (OR of ANDs): ~45 ms for 500 calls.
    Per node, a plain IN list is one array probe of the (node, linkedid) index: a few ms.
    """
    by_node: dict[str, list[str]] = {}
    for node, linkedid in keys:
        by_node.setdefault(node, []).append(linkedid)
    return or_(*(and_(table.c.node == node, table.c.linkedid.in_(ids)) for node, ids in sorted(by_node.items())))


def _chunks(keys: Sequence[tuple[str, str]]) -> Iterable[list[tuple[str, str]]]:
    for start in range(0, len(keys), _CHUNK):
        yield list(keys[start : start + _CHUNK])


def _refresh_calls(
    connection: Connection, keys: set[tuple[str, str]], settings: RollupSettings, expand: bool = True
) -> set[datetime]:
    """Recompute and replace the facts of these calls (and, with ``expand``, of the earlier calls of the
    same numbers within the FCR window); return the intervals whose facts changed."""
    affected: set[datetime] = set()
    ordered = sorted(keys)
    if expand:
        ordered = sorted(keys | _earlier_calls(connection, ordered, settings.fcr_window))
    for chunk in _chunks(ordered):
        affected |= _refresh_chunk(connection, chunk, settings)
    return affected


def _earlier_calls(connection: Connection, keys: Sequence[tuple[str, str]], window: timedelta) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for chunk in _chunks(keys):
        later = calls.alias("later")
        rows = connection.execute(
            select(calls.c.node, calls.c.linkedid)
            .join(later, later.c.caller_number == calls.c.caller_number)
            .where(
                calls_in(later, chunk),
                later.c.caller_number.regexp_match(CALLER_NUMBER_PATTERN),
                calls.c.started_at < later.c.started_at,
                calls.c.started_at >= later.c.started_at - window,
            )
        )
        found.update((row.node, row.linkedid) for row in rows)
    return found


def _refresh_chunk(connection: Connection, chunk: list[tuple[str, str]], settings: RollupSettings) -> set[datetime]:
    in_chunk = calls_in(calls, chunk)
    stored = {(row.node, row.linkedid): stored_call(row) for row in connection.execute(select(calls).where(in_chunk))}
    steps: dict[tuple[str, str], list[CallStep]] = {}
    for row in connection.execute(
        select(call_steps).where(calls_in(call_steps, chunk)).order_by(call_steps.c.at, call_steps.c.id)
    ):
        steps.setdefault((row.node, row.linkedid), []).append(step_from_row(row))
    later = calls.alias("later")
    repeat = (
        select(literal(1))
        .where(
            later.c.caller_number == calls.c.caller_number,
            later.c.started_at > calls.c.started_at,
            later.c.started_at <= calls.c.started_at + settings.fcr_window,
        )
        .exists()
    )
    repeated = {
        (row.node, row.linkedid)
        for row in connection.execute(
            select(calls.c.node, calls.c.linkedid).where(
                in_chunk, calls.c.caller_number.regexp_match(CALLER_NUMBER_PATTERN), repeat
            )
        )
    }
    probe = [contact for key in chunk for contact in contacts_from_steps(steps.get(key, ()))]
    wrapups = _wrapups_near(connection, probe, settings.wrapup_tolerance)
    contact_rows, call_rows = contact_facts(chunk, stored, steps, wrapups, repeated, settings)

    affected: set[datetime] = set()
    old = connection.execute(
        delete(queue_contacts).where(calls_in(queue_contacts, chunk)).returning(queue_contacts.c.interval_start)
    )
    affected.update(row.interval_start for row in old)
    old = connection.execute(
        delete(call_facts).where(calls_in(call_facts, chunk)).returning(call_facts.c.interval_start)
    )
    affected.update(row.interval_start for row in old)
    facts = [_fact_row(visit, contact, sums) for visit, contact, sums in contact_rows]
    if facts:
        connection.execute(insert(queue_contacts), facts)
    if call_rows:
        connection.execute(insert(call_facts), call_rows)
    affected.update(row["interval_start"] for row in facts)
    affected.update(row["interval_start"] for row in call_rows)
    return affected


def _wrapups_near(connection: Connection, contacts: Sequence[QueueContact], tolerance: timedelta) -> list[WrapUp]:
    """The wrap-up spans that may follow these contacts' conversations, each with the agent's next change."""
    ended = [(c.agent, c.ended_at) for c in contacts if c.agent and c.ended_at is not None]
    if not ended:
        return []
    after = agent_events.alias("after")
    next_at = (
        select(func.min(after.c.at))
        .where(after.c.agent == agent_events.c.agent, after.c.at > agent_events.c.at)
        .scalar_subquery()
    )
    rows = connection.execute(
        select(agent_events.c.agent, agent_events.c.at, next_at.label("next_at")).where(
            agent_events.c.state == "wrap_up",
            agent_events.c.agent.in_(sorted({agent for agent, _ in ended})),
            agent_events.c.at >= min(at for _, at in ended if at is not None) - tolerance,
            agent_events.c.at <= max(at for _, at in ended if at is not None) + tolerance,
        )
    )
    return [WrapUp(row.agent, row.at, row.next_at) for row in rows]


# --- agent time ----------------------------------------------------------------------------------------------


def _agent_window(connection: Connection, agent: str, first: datetime, last: datetime) -> tuple[datetime, datetime]:
    """The span of the agent's history that events in [first, last] change: from the event before ``first``
    to the event after ``last``."""
    before = connection.execute(
        select(func.max(agent_events.c.at)).where(agent_events.c.agent == agent, agent_events.c.at < first)
    ).scalar_one()
    following = connection.execute(
        select(func.min(agent_events.c.at)).where(agent_events.c.agent == agent, agent_events.c.at > last)
    ).scalar_one()
    return (before if before is not None else first), (following if following is not None else last)


def _refresh_agent_time(connection: Connection, agent: str, start: datetime, end: datetime) -> None:
    """Replace the agent's time slices of the intervals in [start, end) (both on interval boundaries)."""
    before = connection.execute(
        select(func.max(agent_events.c.at)).where(agent_events.c.agent == agent, agent_events.c.at < start)
    ).scalar_one()
    following = connection.execute(
        select(func.min(agent_events.c.at)).where(agent_events.c.agent == agent, agent_events.c.at >= end)
    ).scalar_one()
    rows = connection.execute(
        select(agent_events)
        .where(
            agent_events.c.agent == agent,
            agent_events.c.at >= (before if before is not None else start),
            agent_events.c.at <= (following if following is not None else end),
        )
        .order_by(agent_events.c.at, agent_events.c.id)
    )
    events = [AgentEvent(row.node, row.agent, row.state, row.reason, row.at) for row in rows]
    connection.execute(
        delete(rollup_agent_time).where(
            rollup_agent_time.c.agent == agent,
            rollup_agent_time.c.interval_start >= start,
            rollup_agent_time.c.interval_start < end,
        )
    )
    _insert_slices(connection, agent_time(events, start, end))


def _insert_slices(connection: Connection, slices: Sequence[AgentTimeSlice]) -> None:
    if slices:
        connection.execute(
            insert(rollup_agent_time),
            [{"interval_start": p.interval, **_slice_values(p)} for p in slices],
        )


def _slice_values(piece: AgentTimeSlice) -> dict[str, Any]:
    return {"agent": piece.agent, "state": piece.state, "reason": piece.reason, "seconds": piece.seconds}


def _calls_ended_by(
    connection: Connection, agent: str, first: datetime, last: datetime, tolerance: timedelta
) -> set[tuple[str, str]]:
    rows = connection.execute(
        select(queue_contacts.c.node, queue_contacts.c.linkedid).where(
            queue_contacts.c.agent == agent,
            queue_contacts.c.ended_at >= first - tolerance,
            queue_contacts.c.ended_at <= last + tolerance,
        )
    )
    return {(row.node, row.linkedid) for row in rows}


# --- sums ----------------------------------------------------------------------------------------------------


def _resum(connection: Connection, intervals: Iterable[datetime]) -> None:
    """Sum the facts of these intervals into their rollup rows again (every row of those intervals)."""
    chosen = sorted(set(intervals))
    for start in range(0, len(chosen), _CHUNK):
        part = chosen[start : start + _CHUNK]
        for table, keys, where in (
            (rollup_queue, ("queue", "line"), None),
            (rollup_queue_agent, ("queue", "agent"), queue_contacts.c.agent != ""),
        ):
            connection.execute(delete(table).where(table.c.interval_start.in_(part)))
            grouped = [queue_contacts.c.interval_start, *(queue_contacts.c[k] for k in keys)]
            sums = [func.sum(queue_contacts.c[name]) for name in SUM_FIELDS]
            query = (
                select(*grouped, *sums, func.max(queue_contacts.c.max_wait_seconds))
                .where(queue_contacts.c.interval_start.in_(part), *([where] if where is not None else []))
                .group_by(*grouped)
            )
            connection.execute(
                insert(table).from_select(["interval_start", *keys, *SUM_FIELDS, "max_wait_seconds"], query)
            )
        connection.execute(delete(rollup_line_calls).where(rollup_line_calls.c.interval_start.in_(part)))
        grouped_calls = [call_facts.c.interval_start, call_facts.c.line]
        connection.execute(
            insert(rollup_line_calls).from_select(
                ["interval_start", "line", "calls", "ivr_calls", "contained"],
                select(
                    *grouped_calls,
                    func.sum(call_facts.c.calls),
                    func.sum(call_facts.c.ivr_calls),
                    func.sum(call_facts.c.contained),
                )
                .where(call_facts.c.interval_start.in_(part))
                .group_by(*grouped_calls),
            )
        )


# --- the maintainer --------------------------------------------------------------------------------------------


def process_marks(connection: Connection, settings: RollupSettings, limit: int = MARK_BATCH) -> int:
    """Bring the rollups up to date with up to ``limit`` marks, in the caller's transaction; return how many."""
    connection.execute(select(func.pg_advisory_xact_lock(_LOCK)))
    marks = connection.execute(select(rollup_marks).order_by(rollup_marks.c.id).limit(limit)).all()
    if not marks:
        return 0
    call_keys = {(m.node, m.key) for m in marks if m.kind == "call"}
    spans: dict[str, tuple[datetime, datetime]] = {}
    for mark in marks:
        if mark.kind == "agent" and mark.at is not None:
            first, last = spans.get(mark.key, (mark.at, mark.at))
            spans[mark.key] = (min(first, mark.at), max(last, mark.at))
    for agent, (first, last) in spans.items():
        begin, finish = _agent_window(connection, agent, first, last)
        _refresh_agent_time(connection, agent, interval_start(begin), interval_start(finish) + INTERVAL)
        call_keys |= _calls_ended_by(connection, agent, begin, finish, settings.wrapup_tolerance)
    _resum(connection, _refresh_calls(connection, call_keys, settings))
    connection.execute(delete(rollup_marks).where(rollup_marks.c.id.in_([m.id for m in marks])))
    return len(marks)


async def maintain_rollups(
    engine: Engine,
    dialplan: Callable[[], Dialplan],
    every: float = 2.0,
    stop: asyncio.Event | None = None,
    batch: int = MARK_BATCH,
    passed: Callable[[int], None] | None = None,
    set_aside: Callable[[int], None] | None = None,
) -> None:
    """Process marks until ``stop`` is set: a full batch is followed at once by the next, else wait ``every`` s.

    Each pass runs in a worker thread on a sync ``engine``: computing facts is pure Python (~0.4 ms a call),
    and the event loop that calls this also answers FastAGI and AMI. ``dialplan`` gives the dialplan in
    service (its queues' thresholds) at each pass. PostgreSQL away: logged once with its cause and retried;
    the marks wait in the database meanwhile and the service goes on. A pass that fails with the database
    there is a record the facts cannot be made of (a step kind a newer version wrote, a row edited by
    hand): the marks are then taken one by one, and the one that fails alone is set aside in
    ``rollup_marks_failed`` with its cause (logged, and counted to ``set_aside``), so that one bad record
    never stops the rollups of every other call. ``passed`` (for metrics and tests) is told how many marks
    each pass processed.
    """
    stop = stop or asyncio.Event()
    failing = False
    while not stop.is_set():
        done = 0
        try:
            settings = RollupSettings.from_dialplan(dialplan())
            try:
                done = await asyncio.to_thread(_pass, engine, settings, batch)
            except Exception as error:
                if _database_away(error):
                    raise
                done, aside = await asyncio.to_thread(_isolate, engine, settings, batch)
                if aside and set_aside is not None:
                    set_aside(aside)
            if failing:
                log.warning("rollups are being maintained again")
                failing = False
        except Exception:
            # Never the end of the service: a report is late, calls are not. Said once until it recovers.
            if not failing:
                log.exception("rollups not maintained (retried every %.0f s)", every)
                failing = True
        if passed is not None:
            passed(done)
        if done < batch:
            # asyncio.timeout, not wait_for: on 3.11 wait_for may drop a cancel that comes as stop is set.
            with suppress(TimeoutError):
                async with asyncio.timeout(every):
                    await stop.wait()


def _database_away(error: Exception) -> bool:
    """PostgreSQL unreachable or the connection lost: a condition to wait out, not a bad record."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | DisconnectionError | OSError | TimeoutError)


def _pass(engine: Engine, settings: RollupSettings, batch: int) -> int:
    with engine.begin() as connection:
        return process_marks(connection, settings, batch)


def _isolate(engine: Engine, settings: RollupSettings, batch: int) -> tuple[int, int]:
    """Up to ``batch`` marks one at a time, setting aside each that fails alone; (processed, set aside).
    Stops at the first failure that is the database going away: no mark is blamed for that."""
    done = aside = 0
    while done + aside < batch:
        try:
            processed = _pass(engine, settings, 1)
        except Exception as error:
            if _database_away(error):
                break
            aside += _set_aside_first(engine, error)
            continue
        if processed == 0:
            break
        done += processed
    return done, aside


def _set_aside_first(engine: Engine, error: Exception) -> int:
    cause = f"{type(error).__name__}: {error}"[:2000]
    with engine.begin() as connection:
        connection.execute(select(func.pg_advisory_xact_lock(_LOCK)))
        mark = connection.execute(select(rollup_marks).order_by(rollup_marks.c.id).limit(1)).first()
        if mark is None:
            return 0
        connection.execute(
            insert(rollup_marks_failed).values(
                id=mark.id, kind=mark.kind, node=mark.node, key=mark.key, at=mark.at, error=cause
            )
        )
        connection.execute(delete(rollup_marks).where(rollup_marks.c.id == mark.id))
    log.error(
        "rollups: %s mark %s/%s set aside in rollup_marks_failed (%s); the other calls' rollups go on",
        mark.kind,
        mark.node,
        mark.key,
        cause,
    )
    return 1


# --- rebuild ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RebuildReport:
    calls: int
    contacts: int
    intervals: int


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)


def rebuild(
    connection: Connection, dialplan: Dialplan, start: datetime | None = None, end: datetime | None = None
) -> RebuildReport:
    """Recompute facts and rollups of the intervals in [start, end) (default: all) from the raw records.

    The range is widened to whole intervals. Runs in the caller's transaction: commit it to keep the result.
    """
    settings = RollupSettings.from_dialplan(dialplan)
    connection.execute(select(func.pg_advisory_xact_lock(_LOCK)))
    first = interval_start(start) if start is not None else _EPOCH
    last = end if end is not None else _FAR
    if end is not None and interval_start(end) != end.astimezone(UTC):
        last = interval_start(end) + INTERVAL

    keys = {
        (row.node, row.linkedid)
        for row in connection.execute(
            select(calls.c.node, calls.c.linkedid).where(calls.c.started_at >= first, calls.c.started_at < last)
        )
    }
    keys |= {
        (row.node, row.linkedid)
        for row in connection.execute(
            select(call_steps.c.node, call_steps.c.linkedid)
            .where(call_steps.c.step == "queued", call_steps.c.at >= first, call_steps.c.at < last)
            .distinct()
        )
    }
    in_range = [
        queue_contacts.c.interval_start >= first,
        queue_contacts.c.interval_start < last,
    ]
    old = connection.execute(delete(queue_contacts).where(*in_range).returning(queue_contacts.c.interval_start)).all()
    old_calls = connection.execute(
        delete(call_facts)
        .where(call_facts.c.interval_start >= first, call_facts.c.interval_start < last)
        .returning(call_facts.c.interval_start)
    ).all()
    affected = {row.interval_start for row in (*old, *old_calls)}
    affected |= _refresh_calls(connection, keys, settings, expand=False)
    for table in (rollup_queue, rollup_queue_agent, rollup_line_calls, rollup_agent_time):
        connection.execute(delete(table).where(table.c.interval_start >= first, table.c.interval_start < last))
    _resum(connection, affected)

    bounds = connection.execute(select(func.min(agent_events.c.at), func.max(agent_events.c.at))).one()
    if bounds[0] is not None:
        agent_first = max(first, interval_start(bounds[0]))
        agent_last = min(last, interval_start(bounds[1]) + INTERVAL)
        agents = (
            connection.execute(select(agent_events.c.agent).where(agent_events.c.at < agent_last).distinct())
            .scalars()
            .all()
        )
        for agent in agents:
            if agent_first < agent_last:
                _refresh_agent_time(connection, agent, agent_first, agent_last)
    contacts = connection.execute(select(func.count()).select_from(queue_contacts).where(*in_range)).scalar_one()
    return RebuildReport(len(keys), contacts, len({i for i in affected if first <= i < last}))
