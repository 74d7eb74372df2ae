"""Every /api route has a role decision, and it holds: an agent (1002), a supervisor of sales (1902) and an
admin each call every route on the same targets (agent 1001 of support, the support call's recording), and
are refused (403) exactly where the matrix says. A new route without a line here fails the first test, so
no route ships without its roles tested."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callcenter.web.openapi import registered_operations
from tests.db.web_stack import STEP, WebStack, web_stack

AGENT, SUPERVISOR, ADMIN = "ag2", "sup2", "boss"
EVERYONE = (AGENT, SUPERVISOR, ADMIN)

# (method, route) -> (the request's path, its JSON body, who is refused). The targets are outside the agent's
# own (1002) and the supervisor's queues (sales), so "refused" means the role rules, not a missing thing.
MONITOR = {"supervisor": "1902", "agent": "1003", "mode": "listen"}
MATRIX: dict[tuple[str, str], tuple[str, object, frozenset[str]]] = {
    ("GET", "/api/agents"): ("/api/agents", None, frozenset()),
    ("GET", "/api/agents/{extension}"): ("/api/agents/1001", None, frozenset({AGENT, SUPERVISOR})),
    ("POST", "/api/agents/{extension}/login"): ("/api/agents/1001/login", {}, frozenset({AGENT, SUPERVISOR})),
    ("POST", "/api/agents/{extension}/logout"): ("/api/agents/1001/logout", {}, frozenset({AGENT, SUPERVISOR})),
    ("POST", "/api/agents/{extension}/pause"): ("/api/agents/1001/pause", {}, frozenset({AGENT, SUPERVISOR})),
    ("POST", "/api/agents/{extension}/unpause"): ("/api/agents/1001/unpause", {}, frozenset({AGENT, SUPERVISOR})),
    ("GET", "/api/agents/{extension}/recording"): (
        "/api/agents/1001/recording",
        None,
        frozenset({AGENT, SUPERVISOR}),
    ),
    ("POST", "/api/agents/{extension}/recording/{action}"): (
        "/api/agents/1001/recording/start",
        {},
        frozenset({AGENT, SUPERVISOR}),
    ),
    ("GET", "/api/monitor"): ("/api/monitor", None, frozenset({AGENT})),
    ("POST", "/api/monitor"): ("/api/monitor", MONITOR, frozenset({AGENT})),
    ("GET", "/api/recordings"): ("/api/recordings", None, frozenset({AGENT})),
    ("GET", "/api/recordings/{recording_id}"): ("/api/recordings/rec-support", None, frozenset({AGENT, SUPERVISOR})),
    ("GET", "/api/recordings/{recording_id}/audio"): (
        "/api/recordings/rec-support/audio",
        None,
        frozenset({AGENT, SUPERVISOR}),
    ),
    ("POST", "/api/recordings/{recording_id}/hold"): (
        "/api/recordings/rec-support/hold",
        {"hold": True},
        frozenset({AGENT, SUPERVISOR}),
    ),
    ("GET", "/api/reports"): ("/api/reports?agent=1001", None, frozenset({AGENT, SUPERVISOR})),
    ("GET", "/api/reports.csv"): ("/api/reports.csv?agent=1001", None, frozenset({AGENT, SUPERVISOR})),
    ("GET", "/api/wallboard"): ("/api/wallboard", None, frozenset()),
    ("GET", "/api/wallboard/stream"): ("/api/wallboard/stream", None, frozenset()),
    ("GET", "/api/dialplan"): ("/api/dialplan", None, frozenset({AGENT, SUPERVISOR})),
    ("POST", "/api/dialplan/check"): ("/api/dialplan/check", {}, frozenset({AGENT, SUPERVISOR})),
    ("POST", "/api/dialplan/reload"): ("/api/dialplan/reload", {}, frozenset({AGENT, SUPERVISOR})),
    ("GET", "/api/openapi.json"): ("/api/openapi.json", None, frozenset()),
}


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[WebStack]:
    async with web_stack(database_url, tmp_path) as started:
        yield started


async def test_every_api_route_has_a_line_in_the_role_matrix(stack: WebStack) -> None:
    assert registered_operations(stack.app) == set(MATRIX)


async def _status(stack: WebStack, user: str, method: str, path: str, body: object) -> int:
    browser = await stack.logged_in(user)
    if path.endswith("/stream"):
        # An event stream never ends: its status line is the answer.
        headers = {"Cookie": f"cc_session={browser.cookie}", "Accept": "text/event-stream"}
        async with asyncio.timeout(STEP):
            async with browser.session.get(browser.base + path, headers=headers) as response:
                return response.status
    return (await browser.request(method, path, json_body=body)).status


@pytest.mark.parametrize("operation", sorted(MATRIX), ids=lambda op: f"{op[0]} {op[1]}")
async def test_each_role_is_refused_exactly_where_the_matrix_says(stack: WebStack, operation: tuple[str, str]) -> None:
    path, body, refused = MATRIX[operation]
    method = operation[0]
    for user in EVERYONE:
        status = await _status(stack, user, method, path, body)
        if user in refused:
            assert status == 403, (user, method, path, status)
        else:
            assert status not in (401, 403), (user, method, path, status)
