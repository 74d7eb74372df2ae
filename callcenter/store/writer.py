"""Call records to PostgreSQL: batched, idempotent, and journalled to local disk first.

``submit`` appends the record to a journal segment in the spool directory
before anything else, so a database outage or a killed service loses nothing.
The flush task writes what is pending in batches with INSERT ... ON CONFLICT
(node, linkedid) DO UPDATE: writing a record twice (a replay after a crash)
leaves one row. A segment is deleted only once every record in it is in
PostgreSQL; segments left by an earlier run are replayed at start. While
PostgreSQL is unreachable, the writer retries with backoff and says so once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import URL, Connection, create_engine
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from callcenter.records import (
    AgentEvent,
    AuditEntry,
    Callback,
    CallRecord,
    CallStep,
    CallUpdate,
    MonitorSession,
    Record,
    Recording,
    record_from_json,
)
from callcenter.store.rollups import marks_for
from callcenter.store.tables import (
    agent_events,
    audit_log,
    call_steps,
    callbacks,
    calls,
    monitor_sessions,
    recordings,
    rollup_marks,
)

__all__ = ["RecordWriter", "record_row"]

log = logging.getLogger(__name__)

_RETRY_FIRST = 0.5
_RETRY_MAX = 30.0


def record_row(record: CallRecord) -> dict[str, Any]:
    return {
        "node": record.node,
        "linkedid": record.linkedid,
        "uniqueid": record.uniqueid,
        "dialled_raw": record.dialled_raw,
        "dialled_number": record.dialled_number,
        "caller_number": record.caller_number,
        "caller_name": record.caller_name,
        "language": record.language,
        "started_at": record.started_at,
        "answered_at": record.answered_at,
        "ended_at": record.ended_at,
        "ivr_path": [{"menu": step.menu, "key": step.key} for step in record.ivr_path],
        "digits": record.digits,
        "inputs": record.inputs,
        "destination": record.destination,
        "queue": record.queue,
        "agent": record.agent,
        "queued_at": record.queued_at,
        "connected_at": record.connected_at,
        "outcome": str(record.outcome),
        "outcome_reason": record.outcome_reason,
    }


class RecordWriter:
    def __init__(self, database: str | URL, spool_dir: Path, batch_size: int = 500, linger: float = 0.0) -> None:
        """``database``: the SQLAlchemy URL the writer makes its own engine of. ``linger``: how long the first
        record waits for others before a flush (one transaction for what a call writes in a moment, not one a
        record).

        The SQL runs in a worker thread on a sync engine: building and sending a batch is milliseconds of
        Python, and on the event loop it would hold up every FastAGI reply meanwhile.
        """
        # No pre-ping (a round trip a flush): a connection lost is invalidated by the failed flush, which spools.
        self._engine = create_engine(database, pool_size=1, connect_args={"connect_timeout": 3})
        # Its connection is closed when the writer goes, closed or not (tests and tools make writers of their own).
        self._release = weakref.finalize(self, self._engine.dispose)
        self._spool_dir = spool_dir
        self._batch_size = batch_size
        self._linger = linger
        self._pending: list[Record] = []
        self._sealed: list[Path] = []  # segments whose records are all in _pending or written
        self._segment: IO[str] | None = None
        self._segment_path: Path | None = None
        self._sequence = 0
        self._wake = asyncio.Event()
        self._closing = False
        self._outage_since: float | None = None
        self._pending_since: float | None = None  # when the oldest record not yet written was submitted
        self.written = 0

    @property
    def pending(self) -> int:
        """Records not yet in PostgreSQL."""
        return len(self._pending)

    def lag(self) -> float:
        """Seconds the oldest record not yet in PostgreSQL has waited (0 when all are written)."""
        return time.monotonic() - self._pending_since if self._pending and self._pending_since is not None else 0.0

    def spooled(self) -> list[Record]:
        """Records not yet in PostgreSQL, oldest first (callbacks pending at a restart are among them)."""
        return list(self._pending)

    def recover(self) -> int:
        """Load the segments an earlier run left behind; return how many records they hold."""
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        recovered = 0
        for path in sorted(self._spool_dir.glob("segment-*.jsonl")):
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if not line.strip():
                    continue
                try:
                    self._pending.append(record_from_json(json.loads(line)))
                    recovered += 1
                except (ValueError, TypeError, KeyError) as error:
                    # A line cut short by a crash mid-write; everything before it is intact.
                    log.error("%s:%d: unreadable spooled record skipped (%s)", path, number, error)
            self._sealed.append(path)
        if recovered:
            self._pending_since = time.monotonic()
            log.warning("replaying %d call records spooled by an earlier run", recovered)
            self._wake.set()
        return recovered

    def submit(self, record: Record) -> None:
        """Journal the record, then queue it for PostgreSQL. Never blocks on the database."""
        if self._segment is None:
            self._sequence += 1
            self._spool_dir.mkdir(parents=True, exist_ok=True)
            name = f"segment-{time.time_ns():020d}-{self._sequence:06d}.jsonl"
            self._segment_path = self._spool_dir / name
            self._segment = self._segment_path.open("a", encoding="utf-8")
        line = {"kind": "call", **record.to_json()} if isinstance(record, CallRecord) else record.to_json()
        self._segment.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._segment.flush()
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending.append(record)
        self._wake.set()

    async def run(self) -> None:
        """Flush pending records until stopped; keep retrying while PostgreSQL is away."""
        try:
            await self._flush_until_stopped()
        finally:
            if self._segment is not None:
                self._segment.close()
                self._segment = None
            if self._pending:
                log.warning(
                    "%d call records stay spooled in %s until the next start", len(self._pending), self._spool_dir
                )

    async def _flush_until_stopped(self) -> None:
        delay = _RETRY_FIRST
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                if self._linger and not self._closing:
                    await asyncio.sleep(self._linger)
                continue
            if await self.flush():
                delay = _RETRY_FIRST
            else:
                if self._closing:
                    return
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)

    async def flush(self) -> bool:
        """Write everything pending now; True when nothing is left."""
        self._seal()
        batch_start = 0
        records = list(self._pending)
        try:
            while batch_start < len(records):
                batch = records[batch_start : batch_start + self._batch_size]
                await self._write(batch)
                batch_start += len(batch)
        except (DBAPIError, OSError) as error:
            del self._pending[:batch_start]
            self.written += batch_start
            if self._outage_since is None:
                self._outage_since = time.monotonic()
                log.error(
                    "PostgreSQL unreachable; spooling call records to %s (%s)",
                    self._spool_dir,
                    str(error).splitlines()[0],
                )
            return False
        del self._pending[: len(records)]
        self.written += len(records)
        # What is left was submitted during this flush: its wait starts about now.
        self._pending_since = time.monotonic() if self._pending else None
        if self._outage_since is not None:
            log.warning(
                "PostgreSQL is back after %.0f s; spooled call records written", time.monotonic() - self._outage_since
            )
            self._outage_since = None
        if not self._pending:
            for path in self._sealed:
                path.unlink(missing_ok=True)
            self._sealed.clear()
        return not self._pending

    def stop(self) -> None:
        """Ask ``run`` to write what it can once more and return; the rest stays spooled."""
        self._closing = True
        self._wake.set()

    def _seal(self) -> None:
        """Close the current segment: the records in it are pending from now on, in order."""
        if self._segment is not None and self._segment_path is not None:
            self._segment.close()
            self._sealed.append(self._segment_path)
            self._segment = None
            self._segment_path = None

    async def _write(self, batch: Sequence[Record]) -> None:
        try:
            await self._upsert(batch)
        except (DataError, IntegrityError):
            # One bad record must not block the rest: write one at a time, set the bad ones aside.
            for record in batch:
                try:
                    await self._upsert([record])
                except (DataError, IntegrityError) as error:
                    self._reject(record, error)

    async def _upsert(self, batch: Sequence[Record]) -> None:
        await asyncio.to_thread(self._upsert_in_thread, batch)

    def _upsert_in_thread(self, batch: Sequence[Record]) -> None:
        with self._engine.begin() as connection:
            _upsert_rows(connection, batch)

    def close(self) -> None:
        """Let go of the database connection (the service's end)."""
        self._release()

    def _reject(self, record: Record, error: Exception) -> None:
        path = self._spool_dir / "rejected.jsonl"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"record": record.to_json(), "error": str(error)}, ensure_ascii=False) + "\n")
        log.error(
            "record %s/%s rejected by PostgreSQL, kept in %s: %s",
            record.node,
            record.agent if isinstance(record, AgentEvent) else _identity(record),
            path,
            str(error).splitlines()[0],
        )


def _upsert_rows(connection: Connection, batch: Sequence[Record]) -> None:
    # Rows go as executemany parameters, not as a VALUES list in the statement: SQLAlchemy then compiles
    # each statement once and caches it (a VALUES list of 500 rows took most of a flush to compile).
    # One row per call: an upsert may not touch a row twice, and the later record of a call knows more.
    latest_calls = {(r.node, r.linkedid): r for r in batch if isinstance(r, CallRecord)}
    call_rows = [record_row(record) for record in latest_calls.values()]
    agent_rows = [
        {"node": r.node, "agent": r.agent, "state": r.state, "reason": r.reason, "at": r.at}
        for r in batch
        if isinstance(r, AgentEvent)
    ]
    step_rows = [_step_row(r) for r in batch if isinstance(r, CallStep)]
    callback_rows = _latest_callbacks(batch)
    recording_rows = list(
        {(r.node, r.recording_id): _recording_row(r) for r in batch if isinstance(r, Recording)}.values()
    )
    monitor_rows = _latest_sessions(batch)
    audit_rows = list(
        {
            (r.node, r.at, r.actor, r.action, r.target): _audit_row(r) for r in batch if isinstance(r, AuditEntry)
        }.values()
    )
    if recording_rows:
        # A replayed recording is the same file: nothing to change (a hold set since stays set).
        connection.execute(
            insert(recordings).on_conflict_do_nothing(constraint="recordings_node_recording_id_key"),
            recording_rows,
        )
    if monitor_rows:
        statement = insert(monitor_sessions)
        connection.execute(
            statement.on_conflict_do_update(
                constraint="monitor_sessions_node_session_id_key",
                set_={name: statement.excluded[name] for name in monitor_rows[0] if name not in ("node", "session_id")},
                where=monitor_sessions.c.updated_at <= statement.excluded.updated_at,
            ),
            monitor_rows,
        )
    if audit_rows:
        connection.execute(insert(audit_log).on_conflict_do_nothing(constraint="audit_log_identity_key"), audit_rows)
    if step_rows:
        connection.execute(insert(call_steps).on_conflict_do_nothing(constraint="call_steps_identity_key"), step_rows)
    if callback_rows:
        statement = insert(callbacks)
        changed = {name: statement.excluded[name] for name in callback_rows[0] if name not in ("node", "callback_id")}
        # A replayed older state never overwrites a newer one.
        connection.execute(
            statement.on_conflict_do_update(
                constraint="callbacks_node_callback_id_key",
                set_=changed,
                where=callbacks.c.updated_at <= statement.excluded.updated_at,
            ),
            callback_rows,
        )
    if call_rows:
        statement = insert(calls)
        statement = statement.on_conflict_do_update(
            constraint="calls_node_linkedid_key",
            set_={name: statement.excluded[name] for name in call_rows[0] if name not in ("node", "linkedid")},
        )
        connection.execute(statement, call_rows)
    if agent_rows:
        connection.execute(
            insert(agent_events).on_conflict_do_nothing(constraint="agent_events_node_agent_at_state_key"),
            agent_rows,
        )
    for update in (r for r in batch if isinstance(r, CallUpdate)):  # after the records they amend
        connection.execute(
            calls.update()
            .where(calls.c.node == update.node, calls.c.linkedid == update.linkedid)
            .values(**update.changes())
        )
    marks = marks_for(batch)  # in this transaction: what the rollups must recompute is never lost
    if marks:
        connection.execute(insert(rollup_marks), marks)


def _identity(record: CallRecord | CallStep | Callback | CallUpdate | Recording | MonitorSession | AuditEntry) -> str:
    if isinstance(record, Callback):
        return record.callback_id
    if isinstance(record, Recording):
        return record.recording_id
    if isinstance(record, MonitorSession):
        return record.session_id
    if isinstance(record, AuditEntry):
        return f"{record.action}:{record.target}"
    return record.linkedid


def _recording_row(recording: Recording) -> dict[str, Any]:
    row = {name: getattr(recording, name) for name in recording.__dataclass_fields__}
    row["pauses"] = [list(span) for span in recording.pauses]
    return row


def _audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in entry.__dataclass_fields__}


_Versioned = TypeVar("_Versioned", Callback, MonitorSession)  # records whose rows keep their latest state


def _latest(batch: Sequence[Record], kind: type[_Versioned]) -> list[_Versioned]:
    """One record per row of ``kind`` (an upsert may not touch a row twice): the latest state of each."""
    latest: dict[tuple[str, str], _Versioned] = {}
    for record in batch:
        if isinstance(record, kind):
            key = (record.node, record.callback_id if isinstance(record, Callback) else record.session_id)
            if key not in latest or latest[key].updated_at <= record.updated_at:
                latest[key] = record
    return list(latest.values())


def _latest_sessions(batch: Sequence[Record]) -> list[dict[str, Any]]:
    rows = []
    for session in _latest(batch, MonitorSession):
        row = {name: getattr(session, name) for name in session.__dataclass_fields__}
        row["modes"] = [[mode, since.isoformat()] for mode, since in session.modes]
        row["calls"] = list(session.calls)
        rows.append(row)
    return rows


def _step_row(step: CallStep) -> dict[str, Any]:
    return {
        "node": step.node,
        "linkedid": step.linkedid,
        "at": step.at,
        "step": str(step.kind),
        "queue": step.queue,
        "agent": step.agent,
        "position": step.position,
        "seconds": step.seconds,
        "result": step.result,
        "detail": step.detail,
    }


def _latest_callbacks(batch: Sequence[Record]) -> list[dict[str, Any]]:
    return [
        {
            "node": c.node,
            "callback_id": c.callback_id,
            "number": c.number,
            "queue": c.queue,
            "priority": c.priority,
            "waiting_since": c.waiting_since,
            "status": str(c.status),
            "attempts": c.attempts,
            "agent": c.agent,
            "line": c.line,
            "updated_at": c.updated_at,
        }
        for c in _latest(batch, Callback)
    ]
