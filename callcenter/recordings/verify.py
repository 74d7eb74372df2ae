"""`callcenter recordings verify`: is every recording the database keeps still on disk, whole and unaltered?

After a restore from backup, a disk replaced or a copy to new storage, the rows (PostgreSQL) and the files
(the recordings directory) come from two different backups; this says which rows have no file, a file of
another size, or a file whose SHA-256 is not the one taken when it was made (tampered with, or corrupt).
It reads each file once, a page of rows at a time, and changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from callcenter.recordings.purge import PAGE, UnsafePathError, recording_file
from callcenter.store.recording_queries import StoredRecording, kept_recordings

__all__ = ["Finding", "VerifyReport", "verify"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Finding:
    recording_id: str
    path: str
    problem: str  # missing, size, checksum, unsafe path, unreadable

    def __str__(self) -> str:
        return f"{self.recording_id}: {self.path}: {self.problem}"


@dataclass
class VerifyReport:
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)


def _problem(recordings_dir: Path, row: StoredRecording) -> str | None:
    stored = row.recording
    try:
        path = recording_file(recordings_dir, stored.path)
    except UnsafePathError as error:
        return f"unsafe path ({error})"
    try:
        size = path.stat().st_size
        if size != stored.size:
            return f"size {size} bytes, {stored.size} recorded"
        digest = hashlib.sha256()
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"unreadable ({error.strerror or error})"
    if digest.hexdigest() != stored.sha256:
        return "checksum differs from the one recorded: altered or corrupt"
    return None


def verify(engine: Engine, node: str, recordings_dir: Path) -> VerifyReport:
    """Check every unpurged recording of ``node`` against its file under ``recordings_dir``."""
    report = VerifyReport()
    after_id = 0
    while True:
        with engine.connect() as connection:
            page = kept_recordings(connection, node, after_id, PAGE)
        if not page:
            return report
        after_id = page[-1].id
        for row in page:
            report.checked += 1
            problem = _problem(recordings_dir, row)
            if problem is not None:
                report.findings.append(Finding(row.recording.recording_id, row.recording.path, problem))
