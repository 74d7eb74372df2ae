"""`callcenter db backup` and `db restore` against a real PostgreSQL: a dump holds every record, a restore puts
them back exactly, and neither leaves a half-written file or asks a question."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, insert, select, text

from callcenter.store.tables import calls

REPO = Path(__file__).resolve().parents[2]
CALLERS = ["+79161234567", "'; DROP TABLE calls; --", "<script>alert(1)</script>"]


def _callcenter(database_url: str, run_dir: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("CALLCENTER_")}
    environment |= {"CALLCENTER_DATABASE_URL": database_url, "CALLCENTER_RUN_DIR": str(run_dir)}
    return subprocess.run(
        [sys.executable, "-m", "callcenter", *arguments],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        timeout=120,
    )


def _rows(database_url: str) -> list[tuple[str, str]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(select(calls.c.linkedid, calls.c.caller_number).order_by(calls.c.linkedid))
            return [(row.linkedid, row.caller_number) for row in found]
    finally:
        engine.dispose()


def _write_calls(database_url: str) -> None:
    started = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(calls),
                [
                    {
                        "node": "node1",
                        "linkedid": f"call-{n}",
                        "uniqueid": f"call-{n}",
                        "dialled_raw": "88005553535",
                        "dialled_number": "+78005553535",
                        "caller_number": caller,
                        "caller_name": caller,
                        "language": "ru",
                        "started_at": started + timedelta(minutes=n),
                        "ended_at": started + timedelta(minutes=n, seconds=30),
                        "ivr_path": [],
                        "digits": "",
                        "outcome": "completed",
                        "outcome_reason": "",
                    }
                    for n, caller in enumerate(CALLERS)
                ],
            )
    finally:
        engine.dispose()


def test_a_backup_restores_every_record_exactly(database_url: str, tmp_path: Path) -> None:
    _write_calls(database_url)
    before = _rows(database_url)
    dump = tmp_path / "dumps" / "callcenter.dump"
    done = _callcenter(database_url, tmp_path / "run", "db", "backup", str(dump))
    assert done.returncode == 0, done.stderr
    assert dump.stat().st_size > 0 and dump.stat().st_mode & 0o777 == 0o600
    assert sorted(path.name for path in dump.parent.iterdir()) == ["callcenter.dump"]

    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM calls"))
        assert connection.execute(select(func.count()).select_from(calls)).scalar_one() == 0
    engine.dispose()

    done = _callcenter(database_url, tmp_path / "run", "db", "restore", str(dump), "--yes")
    assert done.returncode == 0, done.stderr
    assert _rows(database_url) == before
    assert [caller for _, caller in before] == CALLERS


def test_a_restore_without_yes_changes_nothing_and_says_why(database_url: str, tmp_path: Path) -> None:
    _write_calls(database_url)
    dump = tmp_path / "callcenter.dump"
    assert _callcenter(database_url, tmp_path / "run", "db", "backup", str(dump)).returncode == 0
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM calls WHERE linkedid = 'call-0'"))
    engine.dispose()
    done = _callcenter(database_url, tmp_path / "run", "db", "restore", str(dump))
    assert done.returncode == 2
    assert "add --yes" in done.stderr
    assert len(_rows(database_url)) == len(CALLERS) - 1


def test_a_failed_backup_leaves_no_file_and_names_the_cause(database_url: str, tmp_path: Path) -> None:
    unreachable = database_url.rsplit("/", 1)[0] + "/no_such_database"
    dump = tmp_path / "callcenter.dump"
    done = _callcenter(unreachable, tmp_path / "run", "db", "backup", str(dump))
    assert done.returncode == 2
    assert "pg_dump into" in done.stderr and "no_such_database" in done.stderr
    assert list(tmp_path.glob("callcenter.dump*")) == []


def test_a_restore_of_a_broken_dump_fails_and_keeps_the_records(database_url: str, tmp_path: Path) -> None:
    _write_calls(database_url)
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"PGDMP" + b"\0" * 100)
    done = _callcenter(database_url, tmp_path / "run", "db", "restore", str(broken), "--yes")
    assert done.returncode == 2, done.stdout
    assert "pg_restore from" in done.stderr
    assert len(_rows(database_url)) == len(CALLERS)
