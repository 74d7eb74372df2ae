"""The recordings library against the real PostgreSQL: the `callcenter recordings` CLI and the HTTP routes.

Recordings are written through the real ``RecordWriter``, with real small files made by sox in a recordings
directory of the test's own (``CALLCENTER_RUN_DIR`` in a temporary directory, the database given by
``CALLCENTER_DATABASE_URL``). Each test uses an Asterisk node name of its own: every query and the purge are
scoped to one node, so rows of other tests and earlier runs in the shared database are never touched. The
CLI is the real process; the HTTP API is the real app on a loopback server bound to port 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import pwd
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from callcenter.acd.setup import acd_rules
from callcenter.calls.acd_service import AcdService
from callcenter.config import Settings
from callcenter.dialplan.loader import load_dialplan
from callcenter.recordings.policy import storage_path
from callcenter.records import AuditEntry, Recording
from callcenter.stack import Stack
from callcenter.store.recording_queries import AuditSearch, audit_entries, mark_purged, select_recording
from callcenter.store.writer import RecordWriter
from callcenter.web.recording_api import RecordingLibrary
from callcenter.web.server import create_app
from tests.e2e.conftest import CALLCENTER, REPO, service_env

pytestmark = pytest.mark.e2e

NOW = datetime(2031, 3, 1, 12, 0, tzinfo=UTC)  # what the purge is told the time is
TOKEN = "recordings-test-token"
ACTOR = f"cli:{pwd.getpwuid(os.getuid()).pw_name}"

# Three queues: `short` keeps recordings 30 days by its current policy, `long` 400, `plain` has no policy
# (its recordings keep the days stored with them).
DIALPLAN = """\
numbers:
  "+78005550000":
    name: Test line
    menu: main
menus:
  main:
    greeting: [hello]
    options:
      "1": {action: queue, queue: short}
      "2": {action: queue, queue: long}
      "3": {action: queue, queue: plain}
queues:
  short:
    name: Short
    recording: {mode: always, retention_days: 30}
  long:
    name: Long
    recording: {mode: on_demand, retention_days: 400}
  plain:
    name: Plain
"""


@dataclass(frozen=True)
class Library:
    """One test's recordings library: its node, recordings directory, database and CLI environment."""

    node: str
    recordings_dir: Path
    url: str
    env: dict[str, str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CALLCENTER, "recordings", *args], env=self.env, cwd=REPO, capture_output=True, text=True, timeout=60
        )

    def cli_json(self, *args: str) -> Any:
        done = self.cli(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def make(
        self,
        recording_id: str,
        *,
        started_at: datetime,
        queue: str = "plain",
        stored_days: int = 30,
        agent: str = "1001",
        linkedid: str = "",
        file_format: str = "wav",
        with_file: bool = True,
    ) -> Recording:
        """A recording's metadata, and its file made with sox where the recorder keeps it."""
        relative = storage_path(started_at, recording_id, file_format)
        path = self.recordings_dir / relative
        size, digest = 0, ""
        if with_file:
            path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                ["sox", "-n", "-r", "8000", "-c", "2", "-b", "16", str(path), "synth", "0.3", "sine", "440"],
                check=True,
                timeout=30,
            )
            data = path.read_bytes()
            size, digest = len(data), hashlib.sha256(data).hexdigest()
        return Recording(
            node=self.node,
            recording_id=recording_id,
            linkedid=linkedid or f"call-{recording_id}",
            agent=agent,
            queue=queue,
            started_at=started_at,
            seconds=0.3,
            size=size,
            sha256=digest,
            path=str(relative),
            format=file_format,
            reason="always",
            retention_days=stored_days,
        )

    async def write(self, *records: Recording) -> None:
        """Through the record writer, as the service writes them."""
        writer = RecordWriter(self.url, self.recordings_dir.parent / "spool-test")
        for record in records:
            writer.submit(record)
        assert await writer.flush() is True
        writer.close()

    def store(self, *records: Recording) -> None:
        asyncio.run(self.write(*records))

    def audit(self, target: str | None = None) -> list[AuditEntry]:
        """This node's audit entries (for ``target``), oldest first."""
        engine = create_engine(self.url)
        try:
            with engine.connect() as connection:
                entries = audit_entries(connection, AuditSearch(node=self.node, target=target, limit=1000))
        finally:
            engine.dispose()
        return list(reversed(entries))


@pytest.fixture
def library(stack: Stack, settings: Settings, tmp_path: Path) -> Library:
    run_dir = tmp_path / "run"
    dialplans = tmp_path / "dialplans"
    dialplans.mkdir()
    (dialplans / "plan.yaml").write_text(DIALPLAN)
    node = f"rec-{uuid.uuid4().hex[:12]}"
    url = settings.database_dsn(stack.secrets)
    env = service_env(
        {
            "CALLCENTER_RUN_DIR": str(run_dir),
            "CALLCENTER_DIALPLAN_DIR": str(dialplans),
            "CALLCENTER_DATABASE_URL": url,
            "CALLCENTER_NODE": node,
        }
    )
    recordings_dir = Settings.from_env(env).recordings_dir
    assert recordings_dir == run_dir / "recordings"
    recordings_dir.mkdir(parents=True)
    return Library(node, recordings_dir, url, env)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# --- the CLI: verify (after a restore from backup) -------------------------------------------------------------


def test_verify_finds_missing_resized_altered_and_unsafe_files_and_passes_the_rest(library: Library) -> None:
    made = {
        name: library.make(name, started_at=ago(n + 1))
        for n, name in enumerate(["whole", "gone", "cut", "altered", "purged"])
    }
    escape = replace(library.make("escape", started_at=ago(9), with_file=False), path="../secrets.json")
    library.store(*made.values(), escape)
    (library.recordings_dir / made["gone"].path).unlink()
    cut = library.recordings_dir / made["cut"].path
    cut.write_bytes(cut.read_bytes()[:-100])
    altered = library.recordings_dir / made["altered"].path
    data = bytearray(altered.read_bytes())
    data[-1] ^= 0xFF  # same size, one sample changed
    altered.write_bytes(bytes(data))
    engine = create_engine(library.url)
    with engine.begin() as connection:
        row = connection.execute(select_recording(library.node, "purged")).mappings().one()
        mark_purged(connection, [row["id"]])  # its file may go: not a finding
    engine.dispose()
    (library.recordings_dir / made["purged"].path).unlink()

    done = library.cli("verify")
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "5 recording(s) checked: 4 with a problem"
    found = {line.split(":", 1)[0]: line for line in lines[:-1]}
    assert sorted(found) == ["altered", "cut", "escape", "gone"]
    assert found["gone"].endswith(": missing")
    assert f"size {made['cut'].size - 100} bytes, {made['cut'].size} recorded" in found["cut"]
    assert "checksum differs" in found["altered"]
    assert "unsafe path" in found["escape"]


def test_verify_of_a_whole_library_succeeds(library: Library) -> None:
    library.store(*(library.make(f"ok-{n}", started_at=ago(n)) for n in range(3)))
    done = library.cli("verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "3 recording(s) checked: 0 with a problem"


# --- the CLI: purge -----------------------------------------------------------------------------------------


def test_purge_removes_only_expired_unheld_files_and_marks_their_rows(library: Library) -> None:
    made = {
        "old-plain": library.make("old-plain", started_at=ago(31), stored_days=30),
        "at-boundary": library.make("at-boundary", started_at=ago(30), stored_days=30),
        "young-plain": library.make("young-plain", started_at=ago(29), stored_days=30),
        "old-held": library.make("old-held", started_at=ago(100), stored_days=30),
        "shortened": library.make("shortened", started_at=ago(31), queue="short", stored_days=365),
        "lengthened": library.make("lengthened", started_at=ago(100), queue="long", stored_days=30),
        "no-file": library.make("no-file", started_at=ago(10), stored_days=1, with_file=False),
    }
    library.store(*made.values())
    held = library.cli("hold", "old-held")
    assert held.returncode == 0, held.stderr
    expected = {"old-plain", "at-boundary", "shortened", "no-file"}
    files = {name: library.recordings_dir / recording.path for name, recording in made.items()}

    dry = library.cli("purge", "--dry-run", "--now", NOW.isoformat())
    assert dry.returncode == 0, dry.stderr
    assert {line.split()[2] for line in dry.stdout.splitlines() if line.startswith("would purge")} == expected
    assert "kept 30 day(s) (queue policy)" in next(line for line in dry.stdout.splitlines() if "shortened" in line)
    assert "4 recording(s) would be purged (dry run: nothing deleted)" in dry.stdout
    assert all(files[name].exists() for name in made if name != "no-file")
    assert all(row["purged_at"] is None for row in library.cli_json("list"))

    done = library.cli("purge", "--now", NOW.isoformat())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 recording(s) purged: 3 file(s) deleted, 1 missing already; 0 failed" in done.stdout
    rows = {row["recording_id"]: row for row in library.cli_json("list")}
    for name in made:
        purged = name in expected
        assert (rows[name]["purged_at"] is not None) == purged, name
        if name != "no-file":
            assert files[name].exists() != purged, name
    assert rows["old-held"]["legal_hold"] is True

    purges = [entry for entry in library.audit() if entry.action == "recording.purge"]
    assert {entry.target for entry in purges} == expected
    assert all(entry.actor == ACTOR and entry.allowed for entry in purges)
    assert "file missing" in next(entry.detail for entry in purges if entry.target == "no-file")

    again = library.cli("purge", "--now", NOW.isoformat())
    assert "0 recording(s) purged" in again.stdout

    # Released, the held recording's retention applies again.
    assert library.cli("release", "old-held").returncode == 0
    library.cli("purge", "--now", NOW.isoformat())
    assert not files["old-held"].exists()
    assert library.cli_json("show", "old-held")["purged_at"] is not None


def test_purge_refuses_a_stored_path_outside_the_recordings_directory(library: Library, tmp_path: Path) -> None:
    victim = tmp_path / "run" / "precious.wav"
    victim.write_bytes(b"outside the recordings directory")
    bad = replace(library.make("escape", started_at=ago(400), with_file=False), path="../precious.wav")
    library.store(bad)
    done = library.cli("purge", "--now", NOW.isoformat())
    assert done.returncode == 1
    assert "0 recording(s) purged" in done.stdout and "1 failed" in done.stdout
    assert victim.exists()
    assert library.cli_json("show", "escape")["purged_at"] is None


def test_purge_with_an_invalid_dialplan_deletes_nothing(library: Library, tmp_path: Path) -> None:
    recording = library.make("kept", started_at=ago(400))
    library.store(recording)
    (tmp_path / "dialplans" / "plan.yaml").write_text(DIALPLAN.replace("retention_days: 30", "retention_days: 0"))
    done = library.cli("purge", "--now", NOW.isoformat())
    assert done.returncode == 1
    assert "retention_days" in done.stderr and "nothing purged" in done.stderr
    assert (library.recordings_dir / recording.path).exists()


def test_purge_without_the_recordings_directory_marks_nothing(library: Library) -> None:
    library.store(library.make("elsewhere", started_at=ago(400)))
    moved = library.recordings_dir.rename(library.recordings_dir.with_name("moved"))
    done = library.cli("purge", "--now", NOW.isoformat())
    assert done.returncode == 2
    assert "no such directory, nothing purged" in done.stderr
    assert library.cli_json("show", "elsewhere")["purged_at"] is None
    assert (moved / library.cli_json("show", "elsewhere")["path"]).exists()


# --- the CLI: hold, release, list, show ---------------------------------------------------------------------


def test_hold_and_release_are_audited_and_an_unknown_or_purged_recording_is_refused(library: Library) -> None:
    library.store(library.make("r1", started_at=ago(5)), library.make("gone", started_at=ago(400), stored_days=1))
    assert library.cli("purge", "--now", NOW.isoformat()).returncode == 0

    held = library.cli("hold", "r1")
    assert held.returncode == 0 and "on legal hold" in held.stdout
    assert library.cli_json("show", "r1")["legal_hold"] is True
    assert library.cli_json("show", "r1")["expires_at"] is None
    released = library.cli("release", "r1")
    assert released.returncode == 0 and "released" in released.stdout
    shown = library.cli_json("show", "r1")
    assert shown["legal_hold"] is False
    assert datetime.fromisoformat(shown["expires_at"]) == ago(5) + timedelta(days=30)

    unknown = library.cli("hold", "no-such-recording")
    assert unknown.returncode == 1
    assert f"no recording 'no-such-recording' on node {library.node}" in unknown.stderr
    purged = library.cli("hold", "gone")
    assert purged.returncode == 1 and "was purged" in purged.stderr

    trail = [(e.action, e.target, e.allowed, e.actor) for e in library.audit() if e.action != "recording.purge"]
    assert trail == [
        ("recording.hold", "r1", True, ACTOR),
        ("recording.release", "r1", True, ACTOR),
        ("recording.hold", "no-such-recording", False, ACTOR),
        ("recording.hold", "gone", False, ACTOR),
    ]
    audit = library.cli("audit", "r1")
    assert audit.returncode == 0 and "recording.hold  r1  allowed" in audit.stdout


def test_list_filters_newest_first_and_show_gives_the_metadata(library: Library) -> None:
    library.store(
        library.make("a1", started_at=ago(3), agent="1001", linkedid="call-x", queue="short"),
        library.make("a2", started_at=ago(2), agent="1002", linkedid="call-x", queue="short"),
        library.make("a3", started_at=ago(1), agent="1001", linkedid="call-y", queue="plain", file_format="flac"),
    )
    assert [row["recording_id"] for row in library.cli_json("list")] == ["a3", "a2", "a1"]
    assert [row["recording_id"] for row in library.cli_json("list", "--agent", "1001")] == ["a3", "a1"]
    assert [row["recording_id"] for row in library.cli_json("list", "--linkedid", "call-x")] == ["a2", "a1"]
    assert [row["recording_id"] for row in library.cli_json("list", "--queue", "plain")] == ["a3"]
    assert [row["recording_id"] for row in library.cli_json("list", "--last", "1")] == ["a3"]

    text = library.cli("list")
    assert text.returncode == 0
    assert [line.split()[1] for line in text.stdout.splitlines()] == ["a1", "a2", "a3"]  # oldest first, as `calls`

    shown = library.cli_json("show", "a3")
    assert shown["format"] == "flac" and shown["agent"] == "1001" and shown["linkedid"] == "call-y"
    assert shown["legal_hold"] is False and shown["purged_at"] is None
    assert shown["file"] == str(library.recordings_dir / shown["path"])
    assert shown["retention_days_now"] == 30
    assert hashlib.sha256(Path(shown["file"]).read_bytes()).hexdigest() == shown["sha256"]
    assert library.cli("show", "a3").returncode == 0

    unknown = library.cli("show", "nope")
    assert unknown.returncode == 1 and "no recording 'nope'" in unknown.stderr
    bad = library.cli("list", "--last", "0")
    assert bad.returncode == 2 and "--last" in bad.stderr


# --- the HTTP API -------------------------------------------------------------------------------------------


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def json(self, method: str, path: str, body: object = None, token: str = TOKEN) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.request(method, self.base + path, data=data, headers=headers) as response:
            assert response.content_type == "application/json", await response.text()
            return response.status, await response.json()

    async def audio(self, recording_id: str) -> tuple[int, str, bytes]:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with self.session.get(f"{self.base}/api/recordings/{recording_id}/audio", headers=headers) as response:
            return response.status, response.content_type, await response.read()


@dataclass
class Served:
    api: Api
    writer: RecordWriter
    engine: AsyncEngine

    async def audit(self, library: Library) -> list[AuditEntry]:
        assert await self.writer.flush() is True
        return await asyncio.to_thread(library.audit)


@pytest.fixture
async def served(library: Library, settings: Settings, tmp_path: Path) -> AsyncIterator[Served]:
    engine = create_async_engine(library.url)
    writer = RecordWriter(library.url, tmp_path / "spool")
    dialplan = load_dialplan(settings.dialplan_dir)
    acd = AcdService(*acd_rules(dialplan))
    recordings = RecordingLibrary(engine, library.recordings_dir, writer.submit, library.node)
    runner = web.AppRunner(create_app(acd, lambda: dialplan, TOKEN, recordings=recordings))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            yield Served(Api(session, f"http://127.0.0.1:{runner.addresses[0][1]}"), writer, engine)
    finally:
        await runner.cleanup()
        await engine.dispose()


async def test_a_download_returns_the_files_bytes_with_its_content_type_and_is_audited(
    library: Library, served: Served
) -> None:
    made = [
        library.make("w1", started_at=ago(1), file_format="wav"),
        library.make("f1", started_at=ago(1), file_format="flac"),
        library.make("o1", started_at=ago(1), file_format="ogg"),
    ]
    await library.write(*made)
    for recording, content_type in zip(made, ("audio/wav", "audio/flac", "audio/ogg"), strict=True):
        status, got_type, body = await served.api.audio(recording.recording_id)
        assert status == 200
        assert got_type == content_type
        assert body == (library.recordings_dir / recording.path).read_bytes()
        assert hashlib.sha256(body).hexdigest() == recording.sha256

    entries = await served.audit(library)
    assert [(e.action, e.target, e.allowed, e.actor) for e in entries] == [
        ("recording.download", "w1", True, "api"),
        ("recording.download", "f1", True, "api"),
        ("recording.download", "o1", True, "api"),
    ]
    assert all(e.detail.startswith("from 127.0.0.1") for e in entries)


async def test_unknown_purged_missing_and_escaping_recordings_are_refused_and_audited(
    library: Library, served: Served, tmp_path: Path
) -> None:
    secret = tmp_path / "run" / "secrets-copy.json"
    secret.write_text('{"db_password": "not for you"}')
    outside = tmp_path / "outside.wav"
    outside.write_bytes(b"RIFF not yours")
    (library.recordings_dir / "2031").mkdir()
    os.symlink(outside, library.recordings_dir / "2031" / "link.wav")
    gone = library.make("gone", started_at=ago(400))
    records = [
        gone,
        library.make("no-file", started_at=ago(1), with_file=False),
        replace(library.make("dots", started_at=ago(1), with_file=False), path="../secrets-copy.json"),
        replace(library.make("absolute", started_at=ago(1), with_file=False), path=str(secret)),
        replace(library.make("linked", started_at=ago(1), with_file=False), path="2031/link.wav"),
    ]
    await library.write(*records)

    def purge_gone() -> None:
        engine = create_engine(library.url)
        try:
            with engine.begin() as connection:
                row_id = connection.execute(select_recording(library.node, "gone")).mappings().one()["id"]
                mark_purged(connection, [row_id])
        finally:
            engine.dispose()

    await asyncio.to_thread(purge_gone)
    (library.recordings_dir / gone.path).unlink()

    assert (await served.api.json("GET", "/api/recordings/nope"))[0] == 404
    status, body = await served.api.json("GET", "/api/recordings/nope/audio")
    assert (status, body) == (404, {"error": "no recording 'nope'"})
    status, body = await served.api.json("GET", "/api/recordings/gone/audio")
    assert status == 410 and "was purged at" in body["error"]
    status, body = await served.api.json("GET", "/api/recordings/gone")
    assert status == 200 and body["purged_at"] is not None  # the metadata outlives the file
    status, body = await served.api.json("GET", "/api/recordings/no-file/audio")
    assert status == 404 and "missing" in body["error"]
    for escaping in ("dots", "absolute", "linked"):
        status, body = await served.api.json("GET", f"/api/recordings/{escaping}/audio")
        assert status == 403, escaping
        assert "refused" in body["error"]
    # An id that is itself a path reaches no file either: it only names a row.
    status, _ = await served.api.json("GET", "/api/recordings/..%2F..%2Fsecrets-copy.json/audio")
    assert status == 404

    entries = await served.audit(library)
    assert [(e.action, e.target, e.allowed) for e in entries] == [
        ("recording.metadata", "nope", False),
        ("recording.download", "nope", False),
        ("recording.download", "gone", False),
        ("recording.metadata", "gone", True),
        ("recording.download", "no-file", False),
        ("recording.download", "dots", False),
        ("recording.download", "absolute", False),
        ("recording.download", "linked", False),
        ("recording.download", "../../secrets-copy.json", False),
    ]
    assert "404 no recording 'nope'" in entries[1].detail
    assert "410 recording 'gone' was purged" in entries[2].detail
    assert all(e.actor == "api" and e.detail.startswith("from 127.0.0.1") for e in entries)


async def test_the_list_filters_and_refuses_bad_dates_and_every_listing_is_audited(
    library: Library, served: Served
) -> None:
    records = [
        library.make("l1", started_at=datetime(2031, 2, 1, 10, 0, tzinfo=UTC), agent="1001", linkedid="c1"),
        library.make("l2", started_at=datetime(2031, 2, 2, 10, 0, tzinfo=UTC), agent="1002", linkedid="c1"),
        library.make("l3", started_at=datetime(2031, 2, 3, 10, 0, tzinfo=UTC), agent="1001", queue="short"),
    ]
    await library.write(*records)

    async def listed(query: str) -> list[str]:
        status, body = await served.api.json("GET", "/api/recordings" + query)
        assert status == 200, body
        return [row["recording_id"] for row in body["recordings"]]

    assert await listed("") == ["l3", "l2", "l1"]
    assert await listed("?agent=1001") == ["l3", "l1"]
    assert await listed("?linkedid=c1&agent=1002") == ["l2"]
    assert await listed("?queue=short") == ["l3"]
    assert await listed("?from=2031-02-02&to=2031-02-03") == ["l2"]
    assert await listed("?from=2031-02-02T12:00:00%2B03:00") == ["l3", "l2"]  # 09:00 UTC
    assert await listed("?limit=1") == ["l3"]

    for query, message in (
        ("?from=yesterday", "from: 'yesterday' is not an ISO 8601 date or time"),
        ("?from=2031-02-02T12:00:00+03:00", "send '+' as %2B"),
        ("?from=2031-02-03&to=2031-02-02", "to: must be later than from"),
        ("?limit=0", "limit: expected a whole number from 1 to 1000"),
        ("?agnet=1001", "unknown parameter(s) 'agnet'"),
    ):
        status, body = await served.api.json("GET", "/api/recordings" + query)
        assert status == 400, query
        assert message in body["error"], body

    status, body = await served.api.json("GET", "/api/recordings/l1")
    assert status == 200
    assert body["recording_id"] == "l1" and body["legal_hold"] is False and body["purged_at"] is None

    entries = await served.audit(library)
    listings = [e for e in entries if e.action == "recording.list"]
    assert [e.allowed for e in listings] == [True] * 7 + [False] * 5
    assert listings[1].detail == "from 127.0.0.1; agent=1001; 2 found"
    assert "400 from: 'yesterday'" in listings[7].detail
    assert [(e.action, e.target, e.allowed) for e in entries[-1:]] == [("recording.metadata", "l1", True)]


async def test_a_hold_set_over_http_keeps_the_recording_from_purge_until_released(
    library: Library, served: Served
) -> None:
    kept = library.make("kept", started_at=ago(400))
    await library.write(kept, library.make("gone", started_at=ago(400)))

    status, body = await served.api.json("POST", "/api/recordings/kept/hold", {"hold": True})
    assert status == 200 and body["legal_hold"] is True
    purge = await asyncio.to_thread(library.cli, "purge", "--now", NOW.isoformat())
    assert "1 recording(s) purged" in purge.stdout
    assert (library.recordings_dir / kept.path).exists()

    status, body = await served.api.json("POST", "/api/recordings/gone/hold", {"hold": True})
    assert status == 409 and "was purged" in body["error"]
    status, body = await served.api.json("POST", "/api/recordings/nope/hold", {"hold": True})
    assert status == 404
    for bad in ({}, {"hold": "yes"}, {"hold": True, "why": "court"}):
        status, body = await served.api.json("POST", "/api/recordings/kept/hold", bad)
        assert status == 400, bad
    status, body = await served.api.json("POST", "/api/recordings/kept/hold", {"hold": False})
    assert status == 200 and body["legal_hold"] is False
    status, _ = await served.api.json("POST", "/api/recordings/kept/hold", {"hold": True}, token="wrong")
    assert status == 401  # refused before the library: no audit entry (the auth layer logs nothing either)

    await asyncio.to_thread(library.cli, "purge", "--now", NOW.isoformat())
    assert not (library.recordings_dir / kept.path).exists()

    entries = [e for e in await served.audit(library) if e.actor == "api"]
    assert [(e.action, e.target, e.allowed) for e in entries] == [
        ("recording.hold", "kept", True),
        ("recording.hold", "gone", False),
        ("recording.hold", "nope", False),
        ("recording.hold", "kept", False),
        ("recording.hold", "kept", False),
        ("recording.hold", "kept", False),
        ("recording.release", "kept", True),
    ]
    assert "unknown field(s) 'why'" in entries[5].detail
