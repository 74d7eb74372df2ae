"""The recordings library over HTTP: search the metadata, fetch one recording's metadata or audio, set legal hold.

Every access is audited, allowed or refused (an unknown id, a purged file, a bad query and a recording
outside the user's queues are refused accesses): one ``AuditEntry`` per request, actor the web user's name
(``api`` for the bearer token), the client's address and the outcome in ``detail``. Roles: a supervisor
reaches the recordings of their queues only, an admin all of them, an agent none. ``RecordingLibrary`` does the
work and the auditing; the handlers parse, call it, render.

    GET  /api/recordings?linkedid=&agent=&queue=&from=&to=&limit=   metadata, newest first
    GET  /api/recordings/{recording_id}                             metadata, legal_hold and purged_at too
    GET  /api/recordings/{recording_id}/audio                       the file (410 once purged)
    POST /api/recordings/{recording_id}/hold                        {"hold": true} or {"hold": false}

``from`` and ``to`` are ISO 8601 dates or times (``from`` included, ``to`` not; without a zone, UTC).
Recordings are this node's: the files are in its recordings directory.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import hdrs, web
from sqlalchemy.ext.asyncio import AsyncEngine

from callcenter.dialplan.model import Dialplan
from callcenter.recordings.purge import UnsafePathError, recording_file
from callcenter.records import AuditEntry
from callcenter.store.recording_queries import (
    SEARCH_LIMIT_MAX,
    RecordingSearch,
    StoredRecording,
    find_recording_async,
    search_recordings_async,
    set_legal_hold_async,
)
from callcenter.web.auth import PRINCIPAL
from callcenter.web.json_io import ApiError, read_object
from callcenter.web.users import Role, visible_queues

__all__ = [
    "ACTOR",
    "CONTENT_TYPES",
    "RECORDING_LIBRARY",
    "RecordingFile",
    "RecordingLibrary",
    "add_recording_routes",
    "parse_search",
]

log = logging.getLogger(__name__)

ACTOR = "api"
CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg"}
DEFAULT_LIMIT = 100
_SEARCH_PARAMETERS = ("linkedid", "agent", "queue", "from", "to", "limit")
_DETAIL_MAX = 1000  # a query string is the client's: the audit keeps a bounded part of it
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class RecordingFile:
    path: Path
    content_type: str
    filename: str  # what a browser saves it as


@dataclass
class _Outcome:
    action: str
    detail: str = ""


@dataclass(frozen=True)
class RecordingLibrary:
    """What the handlers need: the database, the files, where audit entries go (``RecordWriter.submit``)."""

    engine: AsyncEngine
    recordings_dir: Path
    audit: Callable[[AuditEntry], None]
    node: str
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    async def search(
        self, query: Mapping[str, str], client: str, actor: str = ACTOR, queues: frozenset[str] | None = None
    ) -> list[StoredRecording]:
        """``queues``: the ones the asker may see (None: all); a search naming another queue is refused."""
        with self._audited("recording.list", "recordings", client, actor) as outcome:
            search = parse_search(query)
            async with self.engine.connect() as connection:
                if queues is None:
                    found = await search_recordings_async(connection, self.node, search)
                else:
                    if search.queue is not None and search.queue not in queues:
                        raise ApiError(403, f"queue {search.queue!r} is not one of yours")
                    if not queues:
                        raise ApiError(403, "no queue's recordings are yours to see")
                    found = []
                    for queue in [search.queue] if search.queue is not None else sorted(queues):
                        found += await search_recordings_async(connection, self.node, replace(search, queue=queue))
                    found.sort(key=lambda row: row.recording.started_at, reverse=True)
                    del found[search.limit :]
            outcome.detail = f"{_query_text(query)}; {len(found)} found"
            return found

    async def metadata(
        self, recording_id: str, client: str, actor: str = ACTOR, queues: frozenset[str] | None = None
    ) -> StoredRecording:
        with self._audited("recording.metadata", recording_id, client, actor):
            return _in_scope(await self._find(recording_id), queues)

    async def audio(
        self, recording_id: str, client: str, actor: str = ACTOR, queues: frozenset[str] | None = None
    ) -> RecordingFile:
        with self._audited("recording.download", recording_id, client, actor) as outcome:
            row = _in_scope(await self._find(recording_id), queues)
            if row.purged_at is not None:
                raise ApiError(410, f"recording {recording_id!r} was purged at {row.purged_at.isoformat()}")
            try:
                path = recording_file(self.recordings_dir, row.recording.path)
            except UnsafePathError as error:
                log.error("recording %s refused: %s", recording_id, error)  # a row that was tampered with
                raise ApiError(403, f"recording {recording_id!r}: its stored path is refused") from None
            if not path.is_file():
                log.warning("recording %s: file %s is missing", recording_id, path)
                raise ApiError(404, f"recording {recording_id!r}: its file is missing from the recordings directory")
            outcome.detail = f"{row.recording.size} bytes"
            content_type = CONTENT_TYPES.get(row.recording.format, "application/octet-stream")
            return RecordingFile(path, content_type, _FILENAME_UNSAFE.sub("_", path.name))

    async def set_hold(
        self,
        recording_id: str,
        request_body: Awaitable[Mapping[str, object]],
        client: str,
        actor: str = ACTOR,
        queues: frozenset[str] | None = None,
    ) -> StoredRecording:
        """Set or clear the hold as the body asks; a body refused (not JSON, no ``hold``) is audited too."""
        with self._audited("recording.hold", recording_id, client, actor) as outcome:
            body = await request_body
            if queues is not None:
                _in_scope(await self._find(recording_id), queues)
            hold = body.get("hold")
            if hold is False:
                outcome.action = "recording.release"
            if not isinstance(hold, bool):
                raise ApiError(400, 'hold: expected true or false, like {"hold": true}')
            if hold is False and queues is not None:
                # A supervisor may keep a call's evidence; letting it go back to its retention is an admin's call.
                raise ApiError(403, "only an admin may release a legal hold")
            async with self.engine.begin() as connection:
                row = await set_legal_hold_async(connection, self.node, recording_id, hold)
            if row is None:
                raise ApiError(404, f"no recording {recording_id!r}")
            if row.purged_at is not None:
                raise ApiError(409, f"recording {recording_id!r} was purged at {row.purged_at.isoformat()}")
            return row

    async def _find(self, recording_id: str) -> StoredRecording:
        async with self.engine.connect() as connection:
            row = await find_recording_async(connection, self.node, recording_id)
        if row is None:
            raise ApiError(404, f"no recording {recording_id!r}")
        return row

    @contextmanager
    def _audited(self, action: str, target: str, client: str, actor: str) -> Iterator[_Outcome]:
        """One audit entry for what the block does: allowed if it returns, refused (and why) if it raises."""
        outcome = _Outcome(action)
        try:
            yield outcome
        except ApiError as error:
            self._write(actor, outcome.action, target, False, f"from {client}; {error.status} {error.message}")
            raise
        except Exception as error:
            self._write(actor, outcome.action, target, False, f"from {client}; failed: {type(error).__name__}")
            raise
        detail = f"from {client}" + (f"; {outcome.detail}" if outcome.detail else "")
        self._write(actor, outcome.action, target, True, detail)

    def _write(self, actor: str, action: str, target: str, allowed: bool, detail: str) -> None:
        entry = AuditEntry(self.node, self.clock(), actor[:64], action, target[:96], allowed, detail[:_DETAIL_MAX])
        self.audit(entry)


def _in_scope(row: StoredRecording, queues: frozenset[str] | None) -> StoredRecording:
    if queues is not None and row.recording.queue not in queues:
        raise ApiError(403, f"recording {row.recording.recording_id!r} is not of one of your queues")
    return row


def parse_search(query: Mapping[str, str]) -> RecordingSearch:
    """A search from the query string; a parameter that is unknown or not understood is a 400."""
    unknown = sorted(set(query) - set(_SEARCH_PARAMETERS))
    if unknown:
        raise ApiError(
            400, f"unknown parameter(s) {', '.join(map(repr, unknown))} (expected: {', '.join(_SEARCH_PARAMETERS)})"
        )
    since, until = _parse_time(query, "from"), _parse_time(query, "to")
    if since is not None and until is not None and until <= since:
        raise ApiError(400, "to: must be later than from")
    limit = DEFAULT_LIMIT
    if query.get("limit"):
        try:
            limit = int(query["limit"])
        except ValueError:
            limit = 0
        if not 1 <= limit <= SEARCH_LIMIT_MAX:
            raise ApiError(400, f"limit: expected a whole number from 1 to {SEARCH_LIMIT_MAX}")
    return RecordingSearch(
        linkedid=query.get("linkedid") or None,
        agent=query.get("agent") or None,
        queue=query.get("queue") or None,
        since=since,
        until=until,
        limit=limit,
    )


def _parse_time(query: Mapping[str, str], name: str) -> datetime | None:
    raw = query.get(name, "")
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        hint = " (send '+' as %2B)" if " " in raw else ""
        raise ApiError(
            400, f"{name}: {raw!r} is not an ISO 8601 date or time, like 2026-11-24 or 2026-11-24T10:00:00+03:00{hint}"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _query_text(query: Mapping[str, str]) -> str:
    return " ".join(f"{name}={value}" for name, value in query.items()) or "everything"


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


# --- HTTP -------------------------------------------------------------------------------------------------

RECORDING_LIBRARY = web.AppKey("recording_library", RecordingLibrary)
RECORDING_DIALPLAN: web.AppKey[Callable[[], Dialplan]] = web.AppKey("recording_dialplan")


def _who(request: web.Request) -> tuple[str, str, frozenset[str] | None]:
    """The client's address, the actor audited, and the queues whose recordings they may reach (None: all)."""
    principal = request[PRINCIPAL]
    queues = None if principal.role is Role.ADMIN else visible_queues(principal, request.app[RECORDING_DIALPLAN]())
    return _client(request), principal.actor, queues


async def _list(request: web.Request) -> web.Response:
    found = await request.app[RECORDING_LIBRARY].search(request.query, *_who(request))
    return web.json_response({"recordings": [row.to_json() for row in found]})


async def _metadata(request: web.Request) -> web.Response:
    row = await request.app[RECORDING_LIBRARY].metadata(request.match_info["recording_id"], *_who(request))
    return web.json_response(row.to_json())


async def _audio(request: web.Request) -> web.FileResponse:
    found = await request.app[RECORDING_LIBRARY].audio(request.match_info["recording_id"], *_who(request))
    # ?inline=1: for the page's <audio> player; else a download.
    disposition = "inline" if request.query.get("inline") == "1" else "attachment"
    return web.FileResponse(
        found.path,
        headers={
            hdrs.CONTENT_TYPE: found.content_type,
            hdrs.CONTENT_DISPOSITION: f'{disposition}; filename="{found.filename}"',
            hdrs.CACHE_CONTROL: "no-store",  # a call's audio: kept in no browser or proxy cache
        },
    )


async def _hold(request: web.Request) -> web.Response:
    body = read_object(request, ("hold",))  # read inside the library's audit: a bad body is a refused access
    library = request.app[RECORDING_LIBRARY]
    row = await library.set_hold(request.match_info["recording_id"], body, *_who(request))
    return web.json_response(row.to_json())


def add_recording_routes(app: web.Application, library: RecordingLibrary, dialplan: Callable[[], Dialplan]) -> None:
    app[RECORDING_DIALPLAN] = dialplan
    app[RECORDING_LIBRARY] = library
    app.router.add_get("/api/recordings", _list)
    app.router.add_get("/api/recordings/{recording_id}", _metadata)
    app.router.add_get("/api/recordings/{recording_id}/audio", _audio)
    app.router.add_post("/api/recordings/{recording_id}/hold", _hold)
