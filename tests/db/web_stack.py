"""A whole web app on 127.0.0.1:0 for the tests of log-in, roles and CSRF: real PostgreSQL (users, sessions,
recordings), a real ACD service running, the real monitoring and recording desks with AMI stubbed (the e2e
tests run them against Asterisk), the wallboard and the admin actions over a private copy of the dialplan.

The client keeps cookies by hand (no jar), so a test sees and forges exactly what a browser would send.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp
from aiohttp import web
from panoramisk.message import Message
from sqlalchemy import create_engine, insert
from sqlalchemy.ext.asyncio import create_async_engine

from callcenter.acd.setup import acd_rules
from callcenter.calls.acd_service import AcdService
from callcenter.calls.monitoring import MonitorDesk
from callcenter.calls.recordings import RecordingDesk
from callcenter.dialplan.loader import DialplanError, Problem, load_dialplan
from callcenter.live_dialplan import LiveDialplan
from callcenter.records import AuditEntry, MonitorSession, Recording
from callcenter.store.tables import recordings
from callcenter.web.admin_api import DialplanAdmin
from callcenter.web.auth import COOKIE, WebAuth
from callcenter.web.pages import LOGIN_COOKIE
from callcenter.web.passwords import ScryptCost, hash_password
from callcenter.web.recording_api import RecordingLibrary
from callcenter.web.report_pages import ReportSource
from callcenter.web.server import WebParts, create_app
from callcenter.web.sessions import SessionStore
from callcenter.web.user_store import add_user
from callcenter.web.users import Role
from callcenter.web.wallboard import Wallboard
from callcenter.web.wallboard_api import WallboardFeed

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"
TOKEN = "web-test-token-4Qp"
NODE = "node1"
CHEAP = ScryptCost(log_n=10)  # test users only: the stored parameters make verification as cheap
STEP = 3.0  # the most a single expected event may take on loopback
REPORT_NOW = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # "today" for the reports' default dates

# username -> (role, extension, password)
USERS: dict[str, tuple[Role, str, str]] = {
    "boss": (Role.ADMIN, "", "admin-password-1"),
    "sup1": (Role.SUPERVISOR, "1901", "supervisor-one-pw"),  # every queue
    "sup2": (Role.SUPERVISOR, "1902", "supervisor-two-pw"),  # sales only
    "ag1": (Role.AGENT, "1001", "agent-one-password"),  # support, orders
    "ag2": (Role.AGENT, "1002", "agent-two-password"),  # support, sales
    "ag3": (Role.AGENT, "1003", "agent-three-passw"),  # sales, orders
}

# Recordings in the table: one of a support call (agent 1001), one of a sales call (agent 1003).
RECORDINGS = {"rec-support": ("support", "1001"), "rec-sales": ("sales", "1003")}


class Clock:
    """The sessions' clock: still unless the test moves it."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Answer:
    status: int
    headers: Any
    text: str

    def json(self) -> Any:
        import json

        return json.loads(self.text)


@dataclass
class Browser:
    """One browser: its own cookie, the CSRF token of the last page it loaded."""

    session: aiohttp.ClientSession
    base: str
    cookie: str = ""
    login_cookie: str = ""
    csrf: str = ""
    extra_headers: dict[str, str] = field(default_factory=dict)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: object = None,
        form: dict[str, str] | None = None,
        csrf: bool = True,
        accept: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Accept": accept, **self.extra_headers, **(headers or {})}
        cookies = [f"{COOKIE}={self.cookie}"] if self.cookie else []
        if self.login_cookie and path.startswith("/login"):
            cookies.append(f"{LOGIN_COOKIE}={self.login_cookie}")
        if cookies:
            sent["Cookie"] = "; ".join(cookies)
        if csrf and self.csrf and method != "GET" and "X-CSRF-Token" not in sent:
            sent["X-CSRF-Token"] = self.csrf
        kwargs: dict[str, Any] = {"headers": sent, "allow_redirects": False}
        if form is not None:
            kwargs["data"] = form
        elif json_body is not None:
            kwargs["json"] = json_body
        async with self.session.request(method, self.base + path, **kwargs) as response:
            text = await response.text()
            for header in response.headers.getall("Set-Cookie", []):
                parsed = SimpleCookie(header)
                if COOKIE in parsed:
                    morsel = parsed[COOKIE]
                    self.cookie = "" if morsel["max-age"] == "0" or not morsel.value else morsel.value
                if LOGIN_COOKIE in parsed:
                    self.login_cookie = parsed[LOGIN_COOKIE].value
            return Answer(response.status, response.headers, text)

    async def log_in(self, username: str, password: str | None = None, next_page: str = "/") -> Answer:
        """As a browser does: load the form (its log-in token and cookie), then post it."""
        secret = password if password is not None else USERS[username][2]
        token = await self.login_form()
        form = {"username": username, "password": secret, "next": next_page, "login_token": token}
        answer = await self.request("POST", "/login", form=form, csrf=False)
        if answer.status == 303:
            await self.load_csrf()
        return answer

    async def login_form(self) -> str:
        """GET /login: the form's log-in token (its cookie is kept in ``login_cookie``)."""
        page = await self.request("GET", "/login", accept="text/html")
        assert page.status == 200, page.text
        found = re.search(r'name="login_token" value="([^"]+)"', page.text)
        assert found is not None
        return found.group(1)

    async def load_csrf(self) -> None:
        page = await self.request("GET", "/wallboard", accept="text/html")
        assert page.status == 200, page.text
        found = re.search(r'<meta name="csrf-token" content="([^"]*)"', page.text)
        assert found is not None
        self.csrf = found.group(1)


@dataclass
class WebStack:
    app: web.Application
    base: str
    session: aiohttp.ClientSession
    acd: AcdService
    clock: Clock
    sessions: SessionStore
    written: list[Recording | MonitorSession | AuditEntry]
    originated: list[dict[str, str]]
    dialplan_dir: Path
    database_url: str
    feed: WallboardFeed
    rang: asyncio.Event  # set when the monitoring desk originates (rings a supervisor's phone)

    def browser(self) -> Browser:
        return Browser(self.session, self.base)

    async def logged_in(self, username: str) -> Browser:
        browser = self.browser()
        answer = await browser.log_in(username)
        assert answer.status == 303, answer.text
        return browser

    def audits(self) -> list[AuditEntry]:
        return [entry for entry in self.written if isinstance(entry, AuditEntry)]


def make_users(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            for name, (role, extension, password) in USERS.items():
                add_user(connection, name, role, extension, hash_password(password, CHEAP))
            started = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
            for index, (recording_id, (queue, agent)) in enumerate(RECORDINGS.items()):
                connection.execute(
                    insert(recordings).values(
                        node=NODE,
                        recording_id=recording_id,
                        linkedid=f"call-{index}",
                        agent=agent,
                        queue=queue,
                        started_at=started + timedelta(minutes=index),
                        seconds=1.0,
                        size=44,
                        sha256="0" * 64,
                        path=f"2026/11/24/{recording_id}.wav",
                        format="wav",
                        reason="always",
                        retention_days=30,
                    )
                )
    finally:
        engine.dispose()


@contextlib.asynccontextmanager
async def web_stack(database_url: str, tmp_path: Path, *, cookie_secure: bool = True) -> AsyncIterator[WebStack]:
    make_users(database_url)
    directory = tmp_path / "dialplans"
    shutil.copytree(SAMPLE, directory)
    live = LiveDialplan(directory)
    recordings_dir = tmp_path / "recordings"
    wav = recordings_dir / "2026/11/24"
    wav.mkdir(parents=True)
    for recording_id in RECORDINGS:
        (wav / f"{recording_id}.wav").write_bytes(b"RIFF" + bytes(40))
    written: list[Recording | MonitorSession | AuditEntry] = []
    originated: list[dict[str, str]] = []
    rang = asyncio.Event()

    async def act(action: dict[str, str]) -> Message:
        return Message({"Response": "Success"})

    async def originate(action: dict[str, str], timeout: float) -> Message:
        originated.append(action)
        rang.set()
        return Message({"Response": "Success"})

    desk = RecordingDesk(live, act, written.append, NODE, tmp_path / "in", PurePosixPath("/r"), recordings_dir, "wav")
    monitoring = MonitorDesk(live, originate, written.append, NODE)
    engine = create_async_engine(database_url)
    clock = Clock()
    sessions = SessionStore(engine, timedelta(minutes=30), timedelta(hours=12), clock)
    acd = AcdService(*acd_rules(live.current))
    feed = WallboardFeed(Wallboard(UTC), live, acd.queue_waits, lambda: acd.agent_states, refresh=30.0)
    acd.on_agent_state = feed.agent_state

    def check() -> list[Problem]:
        try:
            load_dialplan(directory)
        except DialplanError as error:
            return list(error.problems)
        return []

    library = RecordingLibrary(engine, recordings_dir, written.append, NODE)
    parts = WebParts(
        auth=WebAuth(sessions, engine, cookie_secure),
        wallboard=feed,
        admin=DialplanAdmin(live, lambda: live.version, check, live.reload),
        reports=ReportSource(engine, "UTC", lambda: REPORT_NOW),
    )
    app = create_app(acd, live, TOKEN, settle=1.0, recordings=library, live_calls=(desk, monitoring), parts=parts)
    runner = web.AppRunner(app, shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    acd_task = asyncio.create_task(acd.run(), name="acd")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            yield WebStack(
                app,
                f"http://127.0.0.1:{runner.addresses[0][1]}",
                session,
                acd,
                clock,
                sessions,
                written,
                originated,
                directory,
                database_url,
                feed,
                rang,
            )
    finally:
        await runner.cleanup()
        acd_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await acd_task
        await engine.dispose()
