"""`callcenter recordings purge`: delete the files of recordings whose retention is over, keep their rows.

A recording expires ``retention_days`` after it started. The days are the CURRENT dialplan's, from the
policy of the recording's queue when that queue has one (an admin who shortens the retention means
older files go at the next purge), else the days stored with the recording when it was made. A
recording under legal hold never expires; a purged one is gone already. ``expired`` decides (pure:
no I/O, no clock); ``purge`` carries it out.

Carrying it out, one page of rows at a time: the rows are locked (a hold set meanwhile waits, then finds
the row purged; a row held before the lock is skipped), each file is deleted, then the rows get
``purged_at`` and an audit entry, in one transaction. A file deleted whose row then failed to be marked
is found missing at the next purge, and the row marked then; the other order could leave a file on
disk that the database says is gone. A file already missing is logged and its row marked all the same.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from sqlalchemy import Engine

from callcenter.dialplan.model import Dialplan
from callcenter.errors import ConfigError
from callcenter.recordings.policy import expires_at
from callcenter.records import AuditEntry
from callcenter.store.recording_queries import (
    StoredRecording,
    add_audit,
    lock_purgeable,
    mark_purged,
    purge_candidates,
)

__all__ = [
    "PAGE",
    "PurgeReport",
    "UnsafePathError",
    "expired",
    "expiry",
    "policy_retention",
    "purge",
    "recording_file",
    "retention_days",
]

log = logging.getLogger(__name__)

PAGE = 500  # rows read, locked and purged per transaction


class UnsafePathError(ValueError):
    """A stored path that does not lead to a file inside the recordings directory."""


def recording_file(recordings_dir: Path, stored_path: str) -> Path:
    """The file of a row's ``path``, resolved; refused unless it is inside ``recordings_dir``.

    The row is data, and the file is deleted or served to whoever asks: a path with '..', an absolute
    one, or a symbolic link leading out of the directory must reach nothing outside it.
    """
    relative = PurePosixPath(stored_path)
    if not stored_path or relative.is_absolute() or ".." in relative.parts:
        raise UnsafePathError(f"{stored_path!r} is not a path inside the recordings directory")
    root = recordings_dir.resolve()
    resolved = (root / relative).resolve()
    if not resolved.is_relative_to(root) or resolved == root:
        raise UnsafePathError(f"{stored_path!r} leads outside the recordings directory")
    return resolved


# --- the decision (pure) ------------------------------------------------------------------------------------


def policy_retention(dialplan: Dialplan) -> dict[str, int]:
    """Days kept, by queue, for the queues whose recording policy is set in ``dialplan``."""
    return {name: queue.recording.retention_days for name, queue in dialplan.queues.items() if queue.recording}


def retention_days(row: StoredRecording, policy_days: Mapping[str, int]) -> int:
    """The current policy of the recording's queue when it has one, else the days stored with it."""
    return policy_days.get(row.recording.queue, row.recording.retention_days)


def expiry(row: StoredRecording, policy_days: Mapping[str, int]) -> datetime | None:
    """When the recording's file may go; None while it is under legal hold (never) or once purged."""
    if row.legal_hold or row.purged_at is not None:
        return None
    return expires_at(row.recording.started_at, retention_days(row, policy_days))


def expired(rows: Iterable[StoredRecording], policy_days: Mapping[str, int], now: datetime) -> list[StoredRecording]:
    """The rows whose files go at ``now``: kept their full retention (an expiry at ``now`` exactly is reached)."""
    if now.tzinfo is None:
        raise ValueError("now must carry its time zone: recordings start at aware times")
    chosen = []
    for row in rows:
        due = expiry(row, policy_days)
        if due is not None and due <= now:
            chosen.append(row)
    return chosen


# --- carrying it out ----------------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    expired: list[StoredRecording] = field(default_factory=list)  # gone now, or what would go (a dry run)
    deleted: int = 0  # files removed
    missing: int = 0  # rows whose file was gone already: marked all the same
    failed: int = 0  # files that could not be removed (or whose path is unsafe): rows left as they were
    skipped: int = 0  # held or purged by someone else since the rows were read

    @property
    def purged(self) -> int:
        return self.deleted + self.missing


def purge(
    engine: Engine,
    node: str,
    recordings_dir: Path,
    policy_days: Mapping[str, int],
    now: datetime,
    actor: str,
    *,
    dry_run: bool = False,
) -> PurgeReport:
    """Purge this node's recordings that expired at ``now``; with ``dry_run`` only say which."""
    if not recordings_dir.is_dir():
        # Every file would look "missing" and every expired row be marked purged, its file left wherever it is.
        raise ConfigError(
            f"{recordings_dir}: no such directory, nothing purged (is CALLCENTER_RUN_DIR the service's run directory?)"
        )
    report = PurgeReport()
    after_id = 0
    while True:
        with engine.connect() as connection:
            page = purge_candidates(connection, node, now, policy_days, after_id, PAGE)
        if not page:
            return report
        after_id = page[-1].id
        chosen = expired(page, policy_days, now)
        report.expired.extend(chosen)
        if chosen and not dry_run:
            _purge_page(engine, node, recordings_dir, chosen, policy_days, actor, report)


def _purge_page(
    engine: Engine,
    node: str,
    recordings_dir: Path,
    chosen: list[StoredRecording],
    policy_days: Mapping[str, int],
    actor: str,
    report: PurgeReport,
) -> None:
    days = {row.id: retention_days(row, policy_days) for row in chosen}
    with engine.begin() as connection:
        locked = connection.execute(lock_purgeable(list(days))).all()
        report.skipped += len(days) - len(locked)
        gone: list[int] = []
        entries: list[AuditEntry] = []
        for row_id, recording_id, stored_path in locked:
            outcome = _delete(recordings_dir, recording_id, stored_path)
            if outcome is None:
                report.failed += 1
                continue
            if outcome == "deleted":
                report.deleted += 1
            else:
                report.missing += 1
            gone.append(row_id)
            detail = f"retention of {days[row_id]} day(s) over; file {outcome}"
            entries.append(AuditEntry(node, datetime.now(UTC), actor, "recording.purge", recording_id, True, detail))
        mark_purged(connection, gone)
        for entry in entries:
            add_audit(connection, entry)


def _delete(recordings_dir: Path, recording_id: str, stored_path: str) -> str | None:
    """'deleted', 'missing' (gone already), or None: not deleted, the row must stay as it is."""
    try:
        path = recording_file(recordings_dir, stored_path)
    except UnsafePathError as error:
        log.error("recording %s not purged: %s", recording_id, error)
        return None
    try:
        path.unlink()
    except FileNotFoundError:
        log.warning("recording %s: file %s was missing already; marked purged", recording_id, path)
        return "missing"
    except OSError as error:
        log.error("recording %s not purged: cannot delete %s (%s)", recording_id, path, error.strerror or error)
        return None
    return "deleted"
