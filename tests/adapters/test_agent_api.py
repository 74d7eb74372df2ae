"""callcenter.web: the HTTP JSON API for agents' actions, on a real loopback server and a real ACD service.

Each test starts the API with ``start_web`` on 127.0.0.1 port 0, in front of an
``AcdService`` built from the sample dialplan (``acd_rules``) whose ``run()`` task
routes for real; the ACD is never mocked. Calls are put on agents by posting the
events the call flows post (a caller arrives, the agent's phone answers, the
call ends). Waits are on the ACD's published state changes, never on sleeps; the
ACD's clock is a manual one so wrap-up ends when the test says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from callcenter.acd.events import (
    AgentLoggedIn,
    AgentState,
    CancelOffer,
    ContactArrived,
    ContactEnded,
    Offer,
    TimerFired,
)
from callcenter.acd.setup import acd_rules
from callcenter.calls.acd_service import AcdService
from callcenter.config import Secrets, Settings
from callcenter.dialplan.loader import load_dialplan
from callcenter.dialplan.model import Dialplan
from callcenter.errors import ConfigError
from callcenter.live_dialplan import LiveDialplan
from callcenter.web.server import BODY_LIMIT, create_app, start_web

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "dialplans"
TOKEN = "test-token-Zq8xV3"
STEP = 2.0  # the most any single expected event may take on loopback
LONG_PAST_WRAP_UP = 3600.0  # seconds on the ACD's clock: every queue's wrap-up is over by then

AVAILABLE = {"state": "available", "reason": ""}
LOGGED_OUT = {"state": "logged_out", "reason": ""}


class ManualClock:
    """The ACD's clock: still unless the test moves it (wrap-up ends when the test says)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class StateWatch:
    """Waits for an agent's state as the ACD publishes it."""

    def __init__(self, acd: AcdService) -> None:
        self._acd = acd
        self._changed = asyncio.Event()
        acd.on_agent_state = lambda change: self._changed.set()

    async def until(self, agent: str, state: AgentState, reason: str = "") -> None:
        async with asyncio.timeout(STEP):
            while self._acd.agent_states.get(agent) != (state, reason):
                self._changed.clear()
                await self._changed.wait()


class Api:
    """A client of the API under test; every answer must be JSON, whatever its status."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.last_headers: CIMultiDictProxy[str] = CIMultiDictProxy(CIMultiDict())

    async def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        raw: bytes | None = None,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        async with self.session.request(method, self.base + path, data=data, headers=sent) as response:
            assert response.content_type == "application/json", await response.text()
            self.last_headers = response.headers
            return response.status, await response.json()

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, body: object = None, **kwargs: Any) -> tuple[int, Any]:
        return await self.call("POST", path, body, **kwargs)

    async def state(self, agent: str) -> dict[str, Any]:
        status, body = await self.get(f"/api/agents/{agent}")
        assert status == 200
        return {"state": body["state"], "reason": body["reason"]}


class Stack:
    def __init__(self, acd: AcdService, clock: ManualClock, api: Api, runner: web.AppRunner) -> None:
        self.acd = acd
        self.clock = clock
        self.api = api
        self.runner = runner
        self.watch = StateWatch(acd)

    @property
    def port(self) -> int:
        port: int = self.runner.addresses[0][1]
        return port

    async def put_on_a_call(self, agent: str, contact: str = "c1", queue: str = "support") -> None:
        """A caller waits in ``queue``, the agent (logged in, alone available) is offered the call and answers."""
        inbox = self.acd.join(contact, f"u-{contact}")
        self.acd.post(ContactArrived(self.clock(), contact, queue))
        async with asyncio.timeout(STEP):
            offer = await inbox.get()
        assert isinstance(offer, Offer) and offer.agents == (agent,)
        self.acd.answered(f"u-{contact}", agent)
        await self.watch.until(agent, AgentState.ON_CALL)

    async def end_call_and_wrap_up(self, agent: str, contact: str = "c1") -> None:
        self.acd.post(ContactEnded(self.clock(), contact, agent))
        await self.watch.until(agent, AgentState.WRAP_UP)
        self.acd.leave(contact, f"u-{contact}")
        self.clock.now += LONG_PAST_WRAP_UP
        self.acd.post(TimerFired(self.clock()))


@contextlib.asynccontextmanager
async def running(
    dialplan: Callable[[], Dialplan], *, route: bool = True, settle: float | None = None
) -> AsyncIterator[Stack]:
    """The API on 127.0.0.1:0 in front of a real ACD service (routing unless ``route`` is false)."""
    clock = ManualClock()
    acd = AcdService(*acd_rules(dialplan()), clock=clock)
    if settle is None:
        runner = await start_web(Settings(http_host="127.0.0.1", http_port=0), acd, dialplan, TOKEN)
    else:  # a shorter wait for the ACD's confirmation than the entry point's
        runner = web.AppRunner(create_app(acd, dialplan, TOKEN, settle=settle))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
    acd_task = asyncio.create_task(acd.run(), name="acd") if route else None
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            yield Stack(acd, clock, Api(session, f"http://127.0.0.1:{runner.addresses[0][1]}"), runner)
    finally:
        await runner.cleanup()
        if acd_task is not None:
            acd_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acd_task


def sample() -> Dialplan:
    return load_dialplan(SAMPLE)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    dialplan = sample()
    async with running(lambda: dialplan) as started:
        yield started


def copy_sample(tmp_path: Path, edit: Callable[[str], str]) -> Path:
    directory = tmp_path / "dialplans"
    shutil.copytree(SAMPLE, directory)
    agents = directory / "agents.yaml"
    agents.write_text(edit(agents.read_text()))
    return directory


# --- reading agents -------------------------------------------------------------------------------------------


async def test_the_list_has_every_agent_of_the_dialplan_logged_out_at_start(stack: Stack) -> None:
    status, body = await stack.api.get("/api/agents")
    assert status == 200
    assert body == {
        "agents": [
            {
                "extension": agent.extension,
                "name": agent.name,
                "queues": list(agent.queues),
                "pin_required": False,
                **LOGGED_OUT,
            }
            for agent in sample().agents
        ]
    }
    assert body["agents"][0]["extension"] == "1001"
    assert body["agents"][0]["name"] == "Anna Ivanova"
    assert body["agents"][0]["queues"] == ["support", "orders"]


async def test_one_agent_by_extension(stack: Stack) -> None:
    status, body = await stack.api.get("/api/agents/1002")
    assert status == 200
    assert body == {
        "extension": "1002",
        "name": "Boris Petrov",
        "queues": ["support", "sales"],
        "pin_required": False,
        **LOGGED_OUT,
    }


async def test_the_state_shows_changes_made_from_the_desk_phone(stack: Stack) -> None:
    stack.acd.post(AgentLoggedIn(stack.clock(), "1003"))  # what *50 posts
    await stack.watch.until("1003", AgentState.AVAILABLE)
    assert await stack.api.state("1003") == AVAILABLE
    _, body = await stack.api.get("/api/agents")
    assert [(a["extension"], a["state"]) for a in body["agents"]] == [
        ("1001", "logged_out"),
        ("1002", "logged_out"),
        ("1003", "available"),
    ]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/agents/9999"),
        ("GET", "/api/agents/1901"),  # a supervisor's phone, not an agent
        ("POST", "/api/agents/9999/login"),
        ("POST", "/api/agents/9999/logout"),
        ("POST", "/api/agents/9999/pause"),
        ("POST", "/api/agents/9999/unpause"),
    ],
)
async def test_an_unknown_agent_is_a_json_404(stack: Stack, method: str, path: str) -> None:
    status, body = await stack.api.call(method, path)
    assert status == 404
    assert "no agent with extension" in body["error"]


# --- actions: state round trips --------------------------------------------------------------------------------


async def test_log_in_pause_with_reason_unpause_and_log_out(stack: Stack) -> None:
    api, acd = stack.api, stack.acd
    base = {"extension": "1001", "name": "Anna Ivanova", "queues": ["support", "orders"], "pin_required": False}

    started = time.monotonic()
    assert await api.post("/api/agents/1001/login") == (200, {**base, **AVAILABLE, "pending": False})
    assert time.monotonic() - started < 1.0  # answered on the ACD's change, not at the end of the wait
    assert acd.agent_states["1001"] == (AgentState.AVAILABLE, "")
    assert await api.state("1001") == AVAILABLE

    status, body = await api.post("/api/agents/1001/pause", {"reason": "lunch"})
    assert (status, body["state"], body["reason"], body["pending"]) == (200, "paused", "lunch", False)
    assert acd.agent_states["1001"] == (AgentState.PAUSED, "lunch")

    status, body = await api.post("/api/agents/1001/pause", {"reason": "meeting"})  # a new reason while paused
    assert (status, body["state"], body["reason"]) == (200, "paused", "meeting")

    status, body = await api.post("/api/agents/1001/unpause")
    assert (status, body["state"], body["reason"], body["pending"]) == (200, "available", "", False)
    assert acd.agent_states["1001"] == (AgentState.AVAILABLE, "")

    status, body = await api.post("/api/agents/1001/pause")  # no body: the default reason, as *52
    assert (status, body["state"], body["reason"]) == (200, "paused", "break")

    assert await api.post("/api/agents/1001/logout") == (200, {**base, **LOGGED_OUT, "pending": False})
    assert acd.agent_states["1001"] == (AgentState.LOGGED_OUT, "")
    assert await api.state("1001") == LOGGED_OUT


async def test_a_reason_is_kept_as_given_without_surrounding_blanks(stack: Stack) -> None:
    reason = "training 2 \u2013 Ёжик"  # an en dash and Cyrillic: printable
    await stack.api.post("/api/agents/1002/login")
    status, body = await stack.api.post("/api/agents/1002/pause", {"reason": f"  {reason}  "})
    assert (status, body["reason"]) == (200, reason)
    assert stack.acd.agent_states["1002"] == (AgentState.PAUSED, reason)


async def test_repeating_an_action_answers_the_same_state_at_once(stack: Stack) -> None:
    api = stack.api
    assert (await api.post("/api/agents/1001/logout"))[1]["state"] == "logged_out"  # already logged out
    await api.post("/api/agents/1001/login")
    started = time.monotonic()
    status, body = await api.post("/api/agents/1001/login")
    assert (status, body["state"], body["pending"]) == (200, "available", False)
    status, body = await api.post("/api/agents/1001/unpause")  # not paused: nothing to do
    assert (status, body["state"], body["pending"]) == (200, "available", False)
    await api.post("/api/agents/1001/pause", {"reason": "lunch"})
    status, body = await api.post("/api/agents/1001/pause", {"reason": "lunch"})
    assert (status, body["state"], body["reason"]) == (200, "paused", "lunch")
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("action", ["pause", "unpause"])
async def test_pause_and_unpause_of_a_logged_out_agent_are_refused(stack: Stack, action: str) -> None:
    status, body = await stack.api.post(f"/api/agents/1001/{action}")
    assert status == 409
    assert "logged out" in body["error"]
    assert "1001" not in stack.acd.agent_states


# --- actions during a call -------------------------------------------------------------------------------------


async def test_a_pause_during_a_call_is_pending_and_taken_after_the_wrap_up(stack: Stack) -> None:
    api = stack.api
    await api.post("/api/agents/1001/login")
    await stack.put_on_a_call("1001")

    status, body = await api.post("/api/agents/1001/pause", {"reason": "lunch"})
    assert (status, body["state"], body["reason"], body["pending"]) == (202, "on_call", "", True)
    assert await api.state("1001") == {"state": "on_call", "reason": ""}

    await stack.end_call_and_wrap_up("1001")
    await stack.watch.until("1001", AgentState.PAUSED, "lunch")
    assert await api.state("1001") == {"state": "paused", "reason": "lunch"}


async def test_a_log_out_during_a_call_is_pending_and_a_log_in_takes_it_back(stack: Stack) -> None:
    api = stack.api
    await api.post("/api/agents/1001/login")
    await stack.put_on_a_call("1001")

    status, body = await api.post("/api/agents/1001/logout")
    assert (status, body["state"], body["pending"]) == (202, "on_call", True)
    status, body = await api.post("/api/agents/1001/login")
    assert (status, body["state"], body["pending"]) == (200, "on_call", False)

    await stack.end_call_and_wrap_up("1001")
    await stack.watch.until("1001", AgentState.AVAILABLE)  # still logged in after the call


async def test_an_unpause_during_a_call_takes_back_the_pending_pause(stack: Stack) -> None:
    api = stack.api
    await api.post("/api/agents/1001/login")
    await stack.put_on_a_call("1001")
    assert (await api.post("/api/agents/1001/pause", {"reason": "lunch"}))[0] == 202
    status, body = await api.post("/api/agents/1001/unpause")
    assert (status, body["state"], body["pending"]) == (200, "on_call", False)
    await stack.end_call_and_wrap_up("1001")
    await stack.watch.until("1001", AgentState.AVAILABLE)


async def test_a_pause_while_the_phone_rings_stops_the_ring_at_once(stack: Stack) -> None:
    await stack.api.post("/api/agents/1001/login")
    inbox = stack.acd.join("c1", "u-c1")
    stack.acd.post(ContactArrived(stack.clock(), "c1", "support"))
    async with asyncio.timeout(STEP):
        assert isinstance(await inbox.get(), Offer)
    status, body = await stack.api.post("/api/agents/1001/pause", {"reason": "lunch"})
    assert (status, body["state"], body["reason"], body["pending"]) == (200, "paused", "lunch", False)
    async with asyncio.timeout(STEP):
        assert await inbox.get() == CancelOffer("c1", "1001")


async def test_an_acd_that_does_not_confirm_in_time_gives_pending_and_handles_the_action_later() -> None:
    dialplan = sample()
    async with running(lambda: dialplan, route=False, settle=0.2) as stack:
        status, body = await stack.api.post("/api/agents/1001/login")
        assert (status, body["state"], body["pending"]) == (202, "logged_out", True)
        acd_task = asyncio.create_task(stack.acd.run())  # the ACD catches up: the queued event is handled
        try:
            await stack.watch.until("1001", AgentState.AVAILABLE)
        finally:
            acd_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await acd_task


# --- PIN -----------------------------------------------------------------------------------------------------


@pytest.fixture
async def pin_stack(tmp_path: Path) -> AsyncIterator[Stack]:
    directory = copy_sample(
        tmp_path, lambda text: text.replace("name: Boris Petrov", 'name: Boris Petrov\n    pin: "2468"')
    )
    dialplan = load_dialplan(directory)
    async with running(lambda: dialplan) as started:
        yield started


async def test_the_list_says_who_needs_a_pin(pin_stack: Stack) -> None:
    _, body = await pin_stack.api.get("/api/agents")
    assert {a["extension"]: a["pin_required"] for a in body["agents"]} == {"1001": False, "1002": True, "1003": False}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "needs a PIN"),
        ({}, "needs a PIN"),
        ({"pin": "1111"}, "wrong PIN"),
        ({"pin": ""}, "wrong PIN"),
        ({"pin": "24680"}, "wrong PIN"),
        ({"pin": "\uff12\uff14\uff16\uff18"}, "wrong PIN"),  # full-width 2468: not the PIN, and no crash on non-ASCII
        ({"pin": "\ud800"}, "wrong PIN"),  # a lone surrogate, as JSON may carry
    ],
)
async def test_a_missing_or_wrong_pin_is_refused(pin_stack: Stack, body: object, message: str) -> None:
    status, answer = await pin_stack.api.post("/api/agents/1002/login", body)
    assert status == 403
    assert message in answer["error"]
    assert "1002" not in pin_stack.acd.agent_states


async def test_the_right_pin_logs_in(pin_stack: Stack) -> None:
    status, body = await pin_stack.api.post("/api/agents/1002/login", {"pin": "2468"})
    assert (status, body["state"], body["pin_required"]) == (200, "available", True)
    assert pin_stack.acd.agent_states["1002"] == (AgentState.AVAILABLE, "")


async def test_an_agent_without_a_pin_logs_in_whatever_pin_is_sent(pin_stack: Stack) -> None:
    status, body = await pin_stack.api.post("/api/agents/1001/login", {"pin": "0000"})
    assert (status, body["state"]) == (200, "available")


# --- bad input --------------------------------------------------------------------------------------------------

BAD_BODIES = [
    ("pause", b"{not json", 400, "not valid JSON"),
    ("pause", b'{"reason": "lunch"', 400, "not valid JSON"),
    ("pause", b"\xff\xfe\x00garbage", 400, "not valid JSON"),
    ("pause", b"[" * 5000 + b"]" * 5000, 400, "not valid JSON"),
    ("pause", b"[1, 2]", 400, "must be a JSON object, not an array"),
    ("pause", b'"lunch"', 400, "must be a JSON object, not a string"),
    ("pause", b"null", 400, "must be a JSON object, not null"),
    ("pause", b'{"reasn": "lunch"}', 400, "unknown field(s) 'reasn' (expected: reason)"),
    ("pause", b'{"reason": 5}', 400, "reason: expected a string"),
    ("pause", b'{"reason": null}', 400, "reason: expected a string"),
    ("pause", b'{"reason": ""}', 400, "reason: expected 1 to 32 printable characters"),
    ("pause", b'{"reason": "   "}', 400, "reason: expected 1 to 32 printable characters"),
    ("pause", json.dumps({"reason": "x" * 33}).encode(), 400, "reason: expected 1 to 32"),
    ("pause", b'{"reason": "a\\nb"}', 400, "reason: expected 1 to 32 printable characters"),
    ("pause", b'{"reason": "a\\u0000b"}', 400, "reason: expected 1 to 32 printable characters"),
    ("pause", b'{"reason": "\\ud800"}', 400, "reason: expected 1 to 32 printable characters"),
    ("login", b'{"pin": 2468}', 400, "pin: expected a string"),
    ("login", b'{"pin": "2468", "as": "1002"}', 400, "unknown field(s) 'as'"),
    ("logout", b'{"now": true}', 400, "this request takes none"),
    ("unpause", b"{oops", 400, "not valid JSON"),
    ("pause", b"{" + b" " * BODY_LIMIT + b"}", 413, "Maximum request body size"),
]


@pytest.mark.parametrize(("action", "raw", "status", "message"), BAD_BODIES)
async def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    stack: Stack, action: str, raw: bytes, status: int, message: str
) -> None:
    await stack.api.post("/api/agents/1001/login")
    got, body = await stack.api.post(f"/api/agents/1001/{action}", raw=raw)
    assert got == status
    assert message in body["error"]
    assert stack.acd.agent_states["1001"] == (AgentState.AVAILABLE, "")
    assert await stack.api.state("1001") == AVAILABLE  # and the server still serves


async def test_an_unknown_route_is_a_json_404(stack: Stack) -> None:
    for path in ("/nope", "/api", "/api/agents/1001/dance", "/api/agents/1001/login/again"):  # "/": the pages
        status, body = await stack.api.post(path)
        assert (status, body["error"]) == (404, f"not found: {path}")


async def test_a_wrong_method_is_a_json_405_naming_what_is_allowed(stack: Stack) -> None:
    status, body = await stack.api.get("/api/agents/1001/login")
    assert status == 405
    assert body["error"] == "method GET is not allowed on /api/agents/1001/login"
    assert stack.api.last_headers["Allow"] == "POST"
    status, _ = await stack.api.call("DELETE", "/api/agents")
    assert status == 405


async def test_garbage_on_the_socket_is_a_400_and_the_server_keeps_serving(stack: Stack) -> None:
    for garbage in (b"HELLO\r\n\r\n", b"GET /api/agents HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", b"\x00\xff" * 64):
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
        try:
            writer.write(garbage + b"\r\n\r\n")
            async with asyncio.timeout(STEP):
                status_line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
        assert status_line.split()[:2] in ([b"HTTP/1.0", b"400"], [b"HTTP/1.1", b"400"]), status_line
    assert (await stack.api.get("/api/agents"))[0] == 200


# --- authentication -----------------------------------------------------------------------------------------------

EVERY_ENDPOINT = [
    ("GET", "/api/agents"),
    ("GET", "/api/agents/1001"),
    ("POST", "/api/agents/1001/login"),
    ("POST", "/api/agents/1001/logout"),
    ("POST", "/api/agents/1001/pause"),
    ("POST", "/api/agents/1001/unpause"),
    ("GET", "/api/agents/9999"),  # an unknown agent, and an unknown route: nothing is learnt without the token
    ("GET", "/nope"),
]


@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
async def test_no_token_is_a_401_with_a_bearer_challenge(stack: Stack, method: str, path: str) -> None:
    status, body = await stack.api.call(method, path, token=None)
    assert status == 401
    assert "missing bearer token" in body["error"]
    assert stack.api.last_headers["WWW-Authenticate"] == 'Bearer realm="callcenter"'
    assert stack.acd.agent_states == {}


@pytest.mark.parametrize(("method", "path"), EVERY_ENDPOINT)
async def test_a_wrong_token_is_a_401(stack: Stack, method: str, path: str) -> None:
    status, body = await stack.api.call(method, path, token=TOKEN + "x")
    assert (status, body["error"]) == (401, "invalid bearer token")
    assert 'error="invalid_token"' in stack.api.last_headers["WWW-Authenticate"]
    assert stack.acd.agent_states == {}


@pytest.mark.parametrize(
    "authorization",
    [TOKEN, f"Basic {TOKEN}", "Bearer", "Bearer ", f"Token {TOKEN}", f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN} x"],
)
async def test_malformed_authorization_is_a_401(stack: Stack, authorization: str) -> None:
    status, _ = await stack.api.get("/api/agents", token=None, headers={"Authorization": authorization})
    assert status == 401


async def test_the_scheme_is_case_insensitive(stack: Stack) -> None:
    status, _ = await stack.api.get("/api/agents", token=None, headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 200


async def test_a_token_of_non_ascii_bytes_is_a_401_not_a_crash(stack: Stack) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", stack.port)
    try:
        writer.write(
            b"GET /api/agents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \xc3\xa9\xff\xfe\r\n"
            b"Connection: close\r\n\r\n"
        )
        async with asyncio.timeout(STEP):
            answer = await reader.read()
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"invalid bearer token"' in answer


async def test_an_app_without_a_token_is_refused() -> None:
    dialplan = sample()
    with pytest.raises(ConfigError, match="api_token"):
        create_app(AcdService(*acd_rules(dialplan)), lambda: dialplan, "")


# --- the dialplan changes, the port is taken, the token is printed ---------------------------------------------------


async def test_an_agent_added_by_a_reload_can_log_in_at_once(tmp_path: Path) -> None:
    directory = copy_sample(tmp_path, lambda text: text)
    live = LiveDialplan(directory)
    async with running(live) as stack:
        live.on_change = lambda new: stack.acd.reconfigure(*acd_rules(new))  # as `callcenter serve` wires it
        agents = directory / "agents.yaml"
        agents.write_text(
            agents.read_text().replace(
                "\nsupervisors:", '  - extension: "1004"\n    name: Dmitry Orlov\n    queues: [support]\n\nsupervisors:'
            )
        )
        assert live.reload().changed
        status, body = await stack.api.get("/api/agents/1004")
        assert (status, body["name"], body["state"]) == (200, "Dmitry Orlov", "logged_out")
        status, body = await stack.api.post("/api/agents/1004/login")
        assert (status, body["state"]) == (200, "available")
        assert (await stack.api.post("/api/agents/1001/login"))[0] == 200  # the others work as before


async def test_a_port_in_use_is_a_config_error_naming_the_setting(stack: Stack) -> None:
    dialplan = sample()
    settings = Settings(http_host="127.0.0.1", http_port=stack.port)
    with pytest.raises(ConfigError, match="CALLCENTER_HTTP_PORT"):
        await start_web(settings, stack.acd, lambda: dialplan, TOKEN)


def test_the_cli_prints_the_token_the_secrets_hold(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CALLCENTER_")}
    env["CALLCENTER_RUN_DIR"] = str(tmp_path)

    def cli(command: str) -> str:
        run = [sys.executable, "-m", "callcenter", command]
        return subprocess.run(run, env=env, capture_output=True, text=True, check=True, timeout=60).stdout

    printed = cli("api-token").strip()
    assert printed == Secrets.load(tmp_path).api_token
    assert len(printed) >= 16
    phones = cli("phones")
    assert f"HTTP API http://127.0.0.1:8080/api/ bearer token {printed}" in phones
