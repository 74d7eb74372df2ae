"""Recordings and the audit log, read and updated: by the CLI (sync) and the web API (async).

The statements are built here once (``select_*``, ``update_*``, ``insert_audit``) and run by either kind
of caller: the sync functions take a ``Connection``, the ``*_async`` ones an ``AsyncConnection``, so the
caller decides what one transaction holds (the CLI changes a hold and writes its audit row together).

Recordings are looked up within one Asterisk node: a recording id is unique per node only, and a node's
files are in its own recordings directory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Insert, RowMapping, Select, Update, and_, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.records import AuditEntry, Recording
from callcenter.store.tables import audit_log, recordings

__all__ = [
    "SEARCH_LIMIT_MAX",
    "AuditSearch",
    "RecordingSearch",
    "StoredRecording",
    "add_audit",
    "audit_entries",
    "audit_entries_async",
    "find_recording",
    "find_recording_async",
    "insert_audit",
    "kept_recordings",
    "lock_purgeable",
    "mark_purged",
    "purge_candidates",
    "search_recordings",
    "search_recordings_async",
    "select_audit",
    "select_kept",
    "select_purge_candidates",
    "select_recording",
    "select_recordings",
    "set_legal_hold",
    "set_legal_hold_async",
    "update_legal_hold",
    "update_purged",
]

SEARCH_LIMIT_MAX = 1000  # one page of metadata; narrow the search (dates, agent) for more

_RECORDING_FIELDS = tuple(Recording.__dataclass_fields__)
_AUDIT_FIELDS = tuple(AuditEntry.__dataclass_fields__)


@dataclass(frozen=True)
class StoredRecording:
    """A recording's row: the finished file's metadata, and what happened to it since."""

    id: int  # the row's key: what a purge pages and locks by
    recording: Recording
    legal_hold: bool
    purged_at: datetime | None  # the file is gone; the row stays as the record that it existed

    def to_json(self) -> dict[str, Any]:
        data = {key: value for key, value in self.recording.to_json().items() if key != "kind"}
        data["legal_hold"] = self.legal_hold
        data["purged_at"] = self.purged_at.isoformat() if self.purged_at is not None else None
        return data


@dataclass(frozen=True)
class RecordingSearch:
    """Which recordings to list: every field given must match; newest first, at most ``limit``."""

    linkedid: str | None = None
    agent: str | None = None
    queue: str | None = None
    since: datetime | None = None  # started at or after
    until: datetime | None = None  # started before
    limit: int = 100


@dataclass(frozen=True)
class AuditSearch:
    """Which audit entries to list, newest first."""

    node: str | None = None
    target: str | None = None
    action_prefix: str = ""  # e.g. "recording." for everything done to recordings
    limit: int = 100


def _stored(row: RowMapping) -> StoredRecording:
    values = {name: row[name] for name in _RECORDING_FIELDS}
    values["pauses"] = tuple((float(start), float(end)) for start, end in row["pauses"])
    return StoredRecording(row["id"], Recording(**values), row["legal_hold"], row["purged_at"])


def _audit(row: RowMapping) -> AuditEntry:
    return AuditEntry(**{name: row[name] for name in _AUDIT_FIELDS})


# --- statements ---------------------------------------------------------------------------------------------


def select_recording(node: str, recording_id: str) -> Select[Any]:
    return select(recordings).where(recordings.c.node == node, recordings.c.recording_id == recording_id)


def select_recordings(node: str, search: RecordingSearch) -> Select[Any]:
    if not 1 <= search.limit <= SEARCH_LIMIT_MAX:
        raise ValueError(f"limit {search.limit}: expected 1 to {SEARCH_LIMIT_MAX}")
    conditions = [recordings.c.node == node]
    for column, value in (
        (recordings.c.linkedid, search.linkedid),
        (recordings.c.agent, search.agent),
        (recordings.c.queue, search.queue),
    ):
        if value is not None:
            conditions.append(column == value)
    if search.since is not None:
        conditions.append(recordings.c.started_at >= search.since)
    if search.until is not None:
        conditions.append(recordings.c.started_at < search.until)
    return (
        select(recordings)
        .where(*conditions)
        .order_by(recordings.c.started_at.desc(), recordings.c.id.desc())
        .limit(search.limit)
    )


def update_legal_hold(node: str, recording_id: str, hold: bool) -> Update:
    """Set or clear the hold; a purged recording is left alone (its file is gone, there is nothing to keep).

    Run while a purge holds the row, it waits, then finds ``purged_at`` set and changes nothing.
    """
    return (
        recordings.update()
        .where(
            recordings.c.node == node,
            recordings.c.recording_id == recording_id,
            recordings.c.purged_at.is_(None),
        )
        .values(legal_hold=hold)
        .returning(*recordings.c)
    )


def select_purge_candidates(
    node: str, now: datetime, policy_days: Mapping[str, int], after_id: int, limit: int
) -> Select[Any]:
    """Unheld, unpurged rows that may have expired at ``now``, in pages by id (after ``after_id``).

    A superset of what expires: a row whose stored retention is over, or one in a queue whose current
    policy keeps recordings for fewer days than it may have been kept already. The exact decision is
    ``callcenter.recordings.purge.expired``'s; this only keeps the rows read to those that may go.
    """
    stored_over = recordings.c.started_at + func.make_interval(0, 0, 0, recordings.c.retention_days) <= now
    maybe = [stored_over]
    if policy_days:
        shortest = min(policy_days.values())
        maybe.append(
            and_(recordings.c.queue.in_(sorted(policy_days)), recordings.c.started_at <= now - timedelta(days=shortest))
        )
    return (
        select(recordings)
        .where(
            recordings.c.node == node,
            recordings.c.legal_hold == false(),
            recordings.c.purged_at.is_(None),
            recordings.c.id > after_id,
            or_(*maybe),
        )
        .order_by(recordings.c.id)
        .limit(limit)
    )


def select_kept(node: str, after_id: int, limit: int) -> Select[Any]:
    """This node's rows whose file should still be there (not purged), in pages by id (after ``after_id``)."""
    return (
        select(recordings)
        .where(recordings.c.node == node, recordings.c.purged_at.is_(None), recordings.c.id > after_id)
        .order_by(recordings.c.id)
        .limit(limit)
    )


def lock_purgeable(ids: Sequence[int]) -> Select[Any]:
    """The rows of ``ids`` still unheld and unpurged, locked until the purge's transaction ends."""
    return (
        select(recordings.c.id, recordings.c.recording_id, recordings.c.path)
        .where(recordings.c.id.in_(ids), recordings.c.legal_hold == false(), recordings.c.purged_at.is_(None))
        .order_by(recordings.c.id)
        .with_for_update()
    )


def update_purged(ids: Sequence[int]) -> Update:
    # The database's clock: when the file went, whatever time the purge decided for.
    return (
        recordings.update()
        .where(recordings.c.id.in_(ids), recordings.c.purged_at.is_(None))
        .values(purged_at=func.now())
    )


def select_audit(search: AuditSearch) -> Select[Any]:
    conditions = []
    if search.node is not None:
        conditions.append(audit_log.c.node == search.node)
    if search.target is not None:
        conditions.append(audit_log.c.target == search.target)
    if search.action_prefix:
        conditions.append(audit_log.c.action.startswith(search.action_prefix, autoescape=True))
    return (
        select(audit_log).where(*conditions).order_by(audit_log.c.at.desc(), audit_log.c.id.desc()).limit(search.limit)
    )


def insert_audit(entry: AuditEntry) -> Insert:
    # Same identity as the record writer's: an entry written twice is one row.
    row = {name: getattr(entry, name) for name in _AUDIT_FIELDS}
    return insert(audit_log).values(row).on_conflict_do_nothing(constraint="audit_log_identity_key")


# --- sync (CLI) ---------------------------------------------------------------------------------------------


def find_recording(connection: Connection, node: str, recording_id: str) -> StoredRecording | None:
    row = connection.execute(select_recording(node, recording_id)).mappings().first()
    return _stored(row) if row is not None else None


def search_recordings(connection: Connection, node: str, search: RecordingSearch) -> list[StoredRecording]:
    return [_stored(row) for row in connection.execute(select_recordings(node, search)).mappings()]


def set_legal_hold(connection: Connection, node: str, recording_id: str, hold: bool) -> StoredRecording | None:
    """The row after setting (or clearing) its hold; a purged row comes back unchanged; None: no such recording."""
    row = connection.execute(update_legal_hold(node, recording_id, hold)).mappings().first()
    return _stored(row) if row is not None else find_recording(connection, node, recording_id)


def purge_candidates(
    connection: Connection, node: str, now: datetime, policy_days: Mapping[str, int], after_id: int, limit: int
) -> list[StoredRecording]:
    query = select_purge_candidates(node, now, policy_days, after_id, limit)
    return [_stored(row) for row in connection.execute(query).mappings()]


def kept_recordings(connection: Connection, node: str, after_id: int, limit: int) -> list[StoredRecording]:
    return [_stored(row) for row in connection.execute(select_kept(node, after_id, limit)).mappings()]


def mark_purged(connection: Connection, ids: Sequence[int]) -> int:
    return connection.execute(update_purged(ids)).rowcount if ids else 0


def audit_entries(connection: Connection, search: AuditSearch) -> list[AuditEntry]:
    return [_audit(row) for row in connection.execute(select_audit(search)).mappings()]


def add_audit(connection: Connection, entry: AuditEntry) -> None:
    connection.execute(insert_audit(entry))


# --- async (web) --------------------------------------------------------------------------------------------


async def find_recording_async(connection: AsyncConnection, node: str, recording_id: str) -> StoredRecording | None:
    row = (await connection.execute(select_recording(node, recording_id))).mappings().first()
    return _stored(row) if row is not None else None


async def search_recordings_async(
    connection: AsyncConnection, node: str, search: RecordingSearch
) -> list[StoredRecording]:
    return [_stored(row) for row in (await connection.execute(select_recordings(node, search))).mappings()]


async def set_legal_hold_async(
    connection: AsyncConnection, node: str, recording_id: str, hold: bool
) -> StoredRecording | None:
    """As ``set_legal_hold``."""
    row = (await connection.execute(update_legal_hold(node, recording_id, hold))).mappings().first()
    return _stored(row) if row is not None else await find_recording_async(connection, node, recording_id)


async def audit_entries_async(connection: AsyncConnection, search: AuditSearch) -> list[AuditEntry]:
    return [_audit(row) for row in (await connection.execute(select_audit(search))).mappings()]
