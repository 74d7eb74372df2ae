"""The wallboard stream, the admin's dialplan actions, the OpenAPI document and `callcenter users`, on a real
loopback server and a real PostgreSQL (tests/db/web_stack.py)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import create_engine

from callcenter.acd.events import AgentLoggedIn
from callcenter.cli import main
from callcenter.records import CallStep, StepKind
from callcenter.web import wallboard_api
from callcenter.web.auth import COOKIE
from callcenter.web.openapi import OPERATIONS, registered_operations
from callcenter.web.passwords import verify_password
from callcenter.web.user_store import FIRST_ADMIN_FILE, ensure_first_admin, list_users
from tests.db.web_stack import STEP, WebStack, web_stack


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[WebStack]:
    async with web_stack(database_url, tmp_path) as started:
        yield started


class Stream:
    """The wallboard's Server-Sent Events, read one ``board`` event at a time."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def next_board(self) -> dict[str, Any]:
        async with asyncio.timeout(STEP):
            data = ""
            while True:
                line = (await self._response.content.readline()).decode()
                if line.startswith("data: "):
                    data = line[len("data: ") :].strip()
                elif line == "\n" and data:
                    board: dict[str, Any] = json.loads(data)
                    return board

    async def until(self, condition: Any) -> dict[str, Any]:
        """The first board that satisfies ``condition``; the stream pushes within SETTLE of each change."""
        while True:
            board = await self.next_board()
            if condition(board):
                return board


# --- the wallboard ------------------------------------------------------------------------------------------------


async def test_the_wallboard_stream_pushes_an_agents_change_and_a_call_entering_a_queue(stack: WebStack) -> None:
    browser = await stack.logged_in("sup2")
    headers = {"Cookie": f"{COOKIE}={browser.cookie}", "Accept": "text/event-stream"}
    async with stack.session.get(stack.base + "/api/wallboard/stream", headers=headers) as response:
        assert response.status == 200 and response.content_type == "text/event-stream"
        stream = Stream(response)
        first = await stream.next_board()
        assert [q["name"] for q in first["queues"]] == ["sales"]  # sup2 supervises sales only
        assert [a["extension"] for a in first["agents"]] == ["1002", "1003"]

        started = asyncio.get_running_loop().time()
        stack.acd.post(AgentLoggedIn(stack.acd.now(), "1003"))
        board = await stream.until(lambda b: b["agents"][1]["state"] == "available")
        assert asyncio.get_running_loop().time() - started < 1.0  # pushed, not polled (the refresh is 30 s)
        assert board["queues"][0]["agents"]["available"] == 1

        started = asyncio.get_running_loop().time()
        stack.feed.step(CallStep("node1", "call-9", datetime.now(UTC), StepKind.QUEUED, queue="sales", position=1))
        board = await stream.until(lambda b: b["queues"][0]["offered"] == 1)
        assert asyncio.get_running_loop().time() - started < 1.0


async def test_an_open_wallboard_stream_ends_when_its_session_does(
    stack: WebStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wallboard_api, "SESSION_RECHECK", 0.2)
    browser = await stack.logged_in("sup2")
    headers = {"Cookie": f"{COOKIE}={browser.cookie}", "Accept": "text/event-stream"}
    async with stack.session.get(stack.base + "/api/wallboard/stream", headers=headers) as response:
        await Stream(response).next_board()
        assert (await browser.request("POST", "/logout")).status in (302, 303)
        async with asyncio.timeout(STEP):
            while await response.content.readline():  # boards until the stream ends: b"" at its end
                pass
    assert (await browser.request("GET", "/api/wallboard/stream")).status == 401


async def test_an_agent_sees_only_their_own_panel(stack: WebStack) -> None:
    browser = await stack.logged_in("ag3")
    board = (await browser.request("GET", "/api/wallboard")).json()
    assert board["queues"] == [] and [a["extension"] for a in board["agents"]] == ["1003"]
    page = await browser.request("GET", "/wallboard", accept="text/html")
    assert 'id="my-panel"' in page.text and 'id="queues"' not in page.text


# --- the admin's dialplan actions ---------------------------------------------------------------------------------


async def test_the_admin_checks_and_reloads_the_dialplan_with_the_problems_shown(stack: WebStack) -> None:
    browser = await stack.logged_in("boss")
    assert (await browser.request("GET", "/api/dialplan")).json()["version"] == 1
    checked = (await browser.request("POST", "/api/dialplan/check", json_body={})).json()
    assert checked == {"ok": True, "problems": []}

    agents = stack.dialplan_dir / "agents.yaml"
    good = agents.read_text()
    agents.write_text(good.replace("queues: [sales]", "queues: [salez]"))
    checked = (await browser.request("POST", "/api/dialplan/check", json_body={})).json()
    assert not checked["ok"]
    assert any("agents.yaml:" in problem and "salez" in problem for problem in checked["problems"])
    reloaded = (await browser.request("POST", "/api/dialplan/reload", json_body={})).json()
    assert (reloaded["ok"], reloaded["changed"], reloaded["version"]) == (False, False, 1)
    assert reloaded["problems"] == checked["problems"]

    agents.write_text(good.replace("name: Anna Ivanova", "name: Anna Sidorova"))
    reloaded = (await browser.request("POST", "/api/dialplan/reload", json_body={})).json()
    assert reloaded == {"ok": True, "changed": True, "version": 2, "problems": []}
    assert (await browser.request("GET", "/api/agents/1001")).json()["name"] == "Anna Sidorova"
    page = await browser.request("GET", "/admin", accept="text/html")
    assert page.status == 200 and 'id="dialplan-reload"' in page.text


# --- OpenAPI ------------------------------------------------------------------------------------------------------


async def test_the_openapi_document_describes_every_route_and_only_routes_that_exist(stack: WebStack) -> None:
    browser = await stack.logged_in("ag1")
    document = (await browser.request("GET", "/api/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    described = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    registered = registered_operations(stack.app)
    assert described == registered
    assert set(OPERATIONS) == registered  # the table has nothing for routes that do not exist
    for path, item in document["paths"].items():
        for operation in item.values():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path


# --- `callcenter users` -------------------------------------------------------------------------------------------


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str, stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CALLCENTER_RUN_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("CALLCENTER_DIALPLAN_DIR", str(Path(__file__).resolve().parents[2] / "dialplans"))
    return tmp_path / "run"


def stored_hash(database_url: str, username: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return next(user.password_hash for user in list_users(connection) if user.username == username)
    finally:
        engine.dispose()


def test_users_add_passwd_disable_list(
    cli_env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run_cli(
        monkeypatch, capsys, "users", "add", "anna", "--role", "agent", "--extension", "1001", "--password-stdin",
        stdin="anna-secret-pass\n",
    )  # fmt: skip
    assert status == 0 and "anna added" in out and "anna-secret-pass" not in out
    assert verify_password("anna-secret-pass", stored_hash(database_url, "anna"))

    status, out, _ = run_cli(monkeypatch, capsys, "users", "add", "sid", "--role", "supervisor", "--extension", "1902")
    generated = out.split("password (shown once): ")[1].strip()
    assert status == 0 and verify_password(generated, stored_hash(database_url, "sid"))

    status, out, _ = run_cli(
        monkeypatch, capsys, "users", "passwd", "anna", "--password-stdin", stdin="another-pass-1\n"
    )
    assert status == 0 and verify_password("another-pass-1", stored_hash(database_url, "anna"))

    assert run_cli(monkeypatch, capsys, "users", "disable", "sid")[0] == 0
    status, out, _ = run_cli(monkeypatch, capsys, "users", "list")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["anna", "agent", "1001", "enabled"]
    assert lines[1].split()[:4] == ["sid", "supervisor", "1902", "disabled"]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["add", "x1", "--role", "agent", "--extension", "1901"], "", "is not a agent's extension"),
        (["add", "x2", "--role", "supervisor", "--extension", "1001"], "", "is not a supervisor's extension"),
        (["add", "x3", "--role", "agent"], "", "(none) is not a agent's extension"),
        (["add", "x4", "--role", "admin", "--extension", "1001"], "", "an admin has no extension"),
        (["add", "Bad Name", "--role", "admin"], "", "user name"),
        (["add", "x5", "--role", "admin", "--password-stdin"], "short\n", "at least"),
        (["passwd", "nobody"], "", "no user 'nobody'"),
    ],
)
def test_users_refuses_bad_input_with_a_clear_error(
    cli_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    stdin: str,
    message: str,
) -> None:
    status, _, err = run_cli(monkeypatch, capsys, "users", *argv, stdin=stdin)
    assert status == 2 and message in err


def test_a_user_name_is_added_once(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(monkeypatch, capsys, "users", "add", "root2", "--role", "admin")[0] == 0
    status, _, err = run_cli(monkeypatch, capsys, "users", "add", "root2", "--role", "admin")
    assert status == 2 and "exists already" in err


def test_the_first_admin_gets_a_random_password_kept_0600_until_changed(
    cli_env: Path, database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            made = ensure_first_admin(connection, cli_env)
        with engine.begin() as connection:
            assert ensure_first_admin(connection, cli_env) is None  # an admin exists now
    finally:
        engine.dispose()
    assert made is not None and verify_password(made, stored_hash(database_url, "admin"))
    path = cli_env / FIRST_ADMIN_FILE
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    status, out, _ = run_cli(monkeypatch, capsys, "users", "first-password")
    assert status == 0 and out.strip() == f"user admin, password {made}"
    run_cli(monkeypatch, capsys, "users", "passwd", "admin", "--password-stdin", stdin="admins-own-password\n")
    assert not path.exists()
    status, _, err = run_cli(monkeypatch, capsys, "users", "first-password")
    assert status == 2 and "was changed already" in err
