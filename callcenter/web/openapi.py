"""The OpenAPI 3 description of the JSON API, served at ``GET /api/openapi.json``.

Written by hand next to the routes, one entry per (method, path); a test holds it to the app's router both
ways (every route described, every description a route), so it cannot drift silently. Only the routes the
app registered are served (an app without the recordings library does not describe them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aiohttp import web

__all__ = ["OPERATIONS", "add_openapi_route", "document", "registered_operations"]

_ERROR = {
    "description": "refused: the JSON body says why",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_JSON = {"application/json": {"schema": {"type": "object"}}}


def _op(
    summary: str,
    roles: str,
    *,
    body: dict[str, Any] | None = None,
    params: Sequence[str] = (),
    ok: str = "200",
    query: Sequence[str] = (),
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "description": f"Roles: {roles}.",
        "responses": {
            ok: {"description": "done", "content": content or _JSON},
            "400": _ERROR,
            "401": _ERROR,
            "403": _ERROR,
        },
    }
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in params]
    parameters += [{"name": name, "in": "query", "required": False, "schema": {"type": "string"}} for name in query]
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {
                "application/json": {"schema": {"type": "object", "properties": body, "additionalProperties": False}}
            },
        }
    return operation


_STRING = {"type": "string"}
_AGENT = ["extension"]
_RECORDING = ["recording_id"]
_SELF = "the agent themselves, admin"

OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/agents"): _op("Agents with their ACD state", "agent (self), supervisor (their queues), admin"),
    ("GET", "/api/agents/{extension}"): _op(
        "One agent", "agent (self), supervisor (their queues), admin", params=_AGENT
    ),
    ("POST", "/api/agents/{extension}/login"): _op("Log the agent in", _SELF, params=_AGENT, body={"pin": _STRING}),
    ("POST", "/api/agents/{extension}/logout"): _op("Log the agent out", _SELF, params=_AGENT, body={}),
    ("POST", "/api/agents/{extension}/pause"): _op(
        "Pause with a reason", _SELF, params=_AGENT, body={"reason": _STRING}
    ),
    ("POST", "/api/agents/{extension}/unpause"): _op("Unpause", _SELF, params=_AGENT, body={}),
    ("GET", "/api/agents/{extension}/recording"): _op(
        "The recording of the agent's call", "who may see the agent", params=_AGENT
    ),
    ("POST", "/api/agents/{extension}/recording/{action}"): _op(
        "Start, stop, pause or resume the recording", _SELF, params=[*_AGENT, "action"], body={}
    ),
    ("GET", "/api/monitor"): _op("Monitoring sessions going on", "supervisor (their own), admin"),
    ("POST", "/api/monitor"): _op(
        "Ring the supervisor's phone into listen/whisper/barge on an agent",
        "supervisor (own phone, agents of their queues), admin",
        ok="202",
        body={"supervisor": _STRING, "agent": _STRING, "mode": {"enum": ["listen", "whisper", "barge"]}},
    ),
    ("GET", "/api/recordings"): _op(
        "Search recordings (audited)",
        "supervisor (their queues), admin",
        query=["linkedid", "agent", "queue", "from", "to", "limit"],
    ),
    ("GET", "/api/recordings/{recording_id}"): _op(
        "A recording's metadata (audited)", "supervisor (their queues), admin", params=_RECORDING
    ),
    ("GET", "/api/recordings/{recording_id}/audio"): _op(
        "A recording's audio (audited)",
        "supervisor (their queues), admin",
        params=_RECORDING,
        query=["inline"],
        content={"audio/wav": {}, "audio/flac": {}, "audio/ogg": {}},
    ),
    ("POST", "/api/recordings/{recording_id}/hold"): _op(
        "Set or release legal hold (audited)",
        "supervisor (their queues), admin",
        params=_RECORDING,
        body={"hold": {"type": "boolean"}},
    ),
    ("GET", "/api/wallboard"): _op("The live wallboard", "every role (restricted to what the user may see)"),
    ("GET", "/api/wallboard/stream"): _op(
        "The live wallboard as Server-Sent Events (event 'board')",
        "every role",
        content={"text/event-stream": {}},
    ),
    ("GET", "/api/dialplan"): _op("The live dialplan's version and size", "admin"),
    ("POST", "/api/dialplan/check"): _op("Validate the dialplan files without applying them", "admin", body={}),
    ("POST", "/api/dialplan/reload"): _op(
        "Reload the dialplan; problems listed, nothing changed if invalid", "admin", body={}
    ),
    ("GET", "/api/reports"): _op(
        "A KPI report as JSON",
        "agent (their own figures), supervisor (their queues), admin",
        query=["from", "to", "group", "queue", "agent"],
    ),
    ("GET", "/api/reports.csv"): _op(
        "A KPI report as CSV",
        "agent (their own figures), supervisor (their queues), admin",
        query=["from", "to", "group", "queue", "agent"],
        content={"text/csv": {}},
    ),
    ("GET", "/api/openapi.json"): _op("This document", "every role"),
}


def registered_operations(app: web.Application) -> set[tuple[str, str]]:
    """(method, path) of every /api route the app's router has (HEAD, which aiohttp adds to GETs, left out)."""
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/") and route.method not in ("HEAD", "*"):
            found.add((route.method, path))
    return found


def document(app: web.Application) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path in sorted(registered_operations(app)):
        operation = OPERATIONS.get((method, path))
        if operation is not None:
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {"title": "callcenter", "version": "1"},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "`callcenter api-token` prints it"},
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "cc_session",
                    "description": "after POST /login; state-changing requests also need the X-CSRF-Token header",
                },
            },
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}}}},
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }


def add_openapi_route(app: web.Application) -> None:
    built: dict[str, Any] = {}  # made at the first request, when every route is in (the router is frozen then)

    async def serve(request: web.Request) -> web.Response:
        if not built:
            built.update(document(request.app))
        return web.json_response(built)

    app.router.add_get("/api/openapi.json", serve)
