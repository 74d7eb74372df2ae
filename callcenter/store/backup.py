"""Backups of the call records: `pg_dump` to a file, `pg_restore` from one, for the configured database (the
private cluster or CALLCENTER_DATABASE_URL).

A dump is PostgreSQL's custom format (compressed, restorable table by table, readable by a newer
PostgreSQL). It is written beside its target and renamed into place only when complete, so a crash or a full
disk mid-dump never leaves a truncated file under the name a restore would trust. The password goes to the
tools in their environment (PGPASSWORD), never on a command line another user could read in /proc.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from callcenter.errors import CallcenterError
from callcenter.store.cluster import find_bindir

__all__ = ["BackupError", "backup", "restore"]


class BackupError(CallcenterError):
    """pg_dump or pg_restore failed: their message, first line first."""


def _connection(dsn: str) -> tuple[list[str], dict[str, str]]:
    url = make_url(dsn)
    arguments = [
        f"--host={url.host or '127.0.0.1'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or 'callcenter'}",
        f"--dbname={url.database or 'callcenter'}",
        "--no-password",  # never a prompt: CI and cron have no terminal
    ]
    environment = {**os.environ, "PGPASSWORD": url.password or "", "PGCONNECT_TIMEOUT": "10"}
    return arguments, environment


def _run(command: list[str], environment: dict[str, str], what: str) -> None:
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        message = done.stderr.strip() or f"exit status {done.returncode}"
        raise BackupError(f"{what} failed: {message}")


def backup(dsn: str, target: Path) -> int:
    """Dump the whole database into ``target``; its size in bytes."""
    arguments, environment = _connection(dsn)
    partial = target.with_name(target.name + ".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        _run(
            [str(find_bindir() / "pg_dump"), "--format=custom", f"--file={partial}", *arguments],
            environment,
            f"pg_dump into {target}",
        )
        partial.chmod(0o600)  # callers' numbers and names: not for every local user
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size


def restore(dsn: str, source: Path) -> None:
    """Replace the database's tables with those of the dump ``source``, in one transaction: a restore that
    fails half-way changes nothing."""
    if not source.is_file():
        raise BackupError(f"{source}: no such backup file")
    arguments, environment = _connection(dsn)
    _run(
        [
            str(find_bindir() / "pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            *arguments,
            str(source),
        ],
        environment,
        f"pg_restore from {source}",
    )
