"""Log-in, roles, sessions and CSRF of the web app (callcenter/web/auth.py, sessions.py, pages.py and the role
rules on every /api route), on a real loopback server and a real PostgreSQL (tests/db/web_stack.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from callcenter.acd.events import AgentState
from callcenter.store.tables import web_sessions
from callcenter.web.openapi import registered_operations
from callcenter.web.sessions import token_hash
from tests.db.web_stack import STEP, TOKEN, USERS, WebStack, web_stack

# Values for the path parameters of every route.
FILL = {"{extension}": "1001", "{action}": "start", "{recording_id}": "rec-support"}


def concrete(path: str) -> str:
    for name, value in FILL.items():
        path = path.replace(name, value)
    return path


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[WebStack]:
    async with web_stack(database_url, tmp_path) as started:
        yield started


def session_rows(stack: WebStack) -> int:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(web_sessions)).scalar_one())
    finally:
        engine.dispose()


# --- nothing without log-in -------------------------------------------------------------------------------------


async def test_every_api_route_is_refused_without_log_in(stack: WebStack) -> None:
    operations = registered_operations(stack.app)
    assert len(operations) >= 20  # the whole app: agents, live calls, recordings, wallboard, admin, openapi
    browser = stack.browser()
    for method, path in sorted(operations):
        answer = await browser.request(method, concrete(path), json_body={})
        assert answer.status == 401, (method, path, answer.text)
        assert "log in at /login" in answer.json()["error"]
    assert stack.acd.agent_states == {} and stack.originated == [] and stack.audits() == []


@pytest.mark.parametrize("page", ["/", "/wallboard", "/recordings", "/admin", "/nope"])
async def test_a_page_without_log_in_redirects_to_the_log_in_page(stack: WebStack, page: str) -> None:
    answer = await stack.browser().request("GET", page, accept="text/html")
    assert answer.status == 303
    assert answer.headers["Location"].startswith(f"/login?next={page}")


async def test_only_the_log_in_page_static_assets_and_health_are_public(stack: WebStack) -> None:
    browser = stack.browser()
    assert (await browser.request("GET", "/login", accept="text/html")).status == 200
    assert (await browser.request("GET", "/static/app.js")).status == 200
    assert (await browser.request("GET", "/static/style.css")).status == 200
    assert (await browser.request("GET", "/health")).text == "ok\n"


async def test_a_forged_or_unknown_cookie_is_no_session(stack: WebStack) -> None:
    browser = stack.browser()
    browser.cookie = "x" * 43
    answer = await browser.request("GET", "/api/agents")
    assert answer.status == 401


# --- log-in, cookie, fixation, log-out ---------------------------------------------------------------------------


async def test_log_in_sets_an_httponly_samesite_strict_secure_cookie_and_stores_only_its_hash(stack: WebStack) -> None:
    browser = stack.browser()
    answer = await browser.log_in("ag1", next_page="/wallboard")
    assert answer.status == 303 and answer.headers["Location"] == "/wallboard"
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" in cookie and "Path=/" in cookie
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            stored = connection.execute(select(web_sessions.c.token_hash, web_sessions.c.username)).all()
    finally:
        engine.dispose()
    assert [(row.token_hash, row.username) for row in stored] == [(token_hash(browser.cookie), "ag1")]
    assert browser.cookie not in str(stored)


async def test_a_wrong_password_an_unknown_user_and_a_disabled_user_get_no_session(stack: WebStack) -> None:
    from callcenter.web.user_store import set_disabled

    engine = create_engine(stack.database_url)
    try:
        with engine.begin() as connection:
            set_disabled(connection, "ag3", True)
    finally:
        engine.dispose()
    for username, password in (("ag1", "wrong-password!"), ("nobody", "whatever-pass"), ("ag3", USERS["ag3"][2])):
        browser = stack.browser()
        answer = await browser.log_in(username, password)
        assert answer.status == 401 and "Wrong user name or password." in answer.text
        assert browser.cookie == ""
    assert session_rows(stack) == 0


async def test_log_in_makes_a_new_token_so_a_planted_one_never_becomes_a_session(stack: WebStack) -> None:
    victim = stack.browser()
    victim.cookie = "planted-by-an-attacker-0123456789abcdefghijkl"
    await victim.log_in("sup1")
    assert victim.cookie != "planted-by-an-attacker-0123456789abcdefghijkl"
    attacker = stack.browser()
    attacker.cookie = "planted-by-an-attacker-0123456789abcdefghijkl"
    assert (await attacker.request("GET", "/api/agents")).status == 401
    # Logging in again from the same browser replaces the session: the old token is dead.
    first = victim.cookie
    await victim.log_in("sup1")
    assert victim.cookie != first
    old = stack.browser()
    old.cookie = first
    assert (await old.request("GET", "/api/agents")).status == 401
    assert (await victim.request("GET", "/api/agents")).status == 200
    assert session_rows(stack) == 1


async def test_log_out_deletes_the_session(stack: WebStack) -> None:
    browser = await stack.logged_in("sup1")
    token = browser.cookie
    answer = await browser.request("POST", "/logout", form={"csrf_token": browser.csrf}, csrf=False)
    assert answer.status == 303 and answer.headers["Location"] == "/login"
    assert browser.cookie == ""
    assert session_rows(stack) == 0
    browser.cookie = token  # a copy of the cookie kept somewhere opens nothing
    assert (await browser.request("GET", "/api/agents")).status == 401


async def test_log_out_needs_the_csrf_token(stack: WebStack) -> None:
    browser = await stack.logged_in("sup1")
    answer = await browser.request("POST", "/logout", form={}, csrf=False)
    assert answer.status == 403
    assert session_rows(stack) == 1


async def test_a_session_ends_after_the_idle_time_and_after_its_lifetime(stack: WebStack) -> None:
    browser = await stack.logged_in("sup1")
    stack.clock.now += timedelta(minutes=29)
    assert (await browser.request("GET", "/api/agents")).status == 200  # used: idle time starts again
    stack.clock.now += timedelta(minutes=29)
    assert (await browser.request("GET", "/api/agents")).status == 200
    stack.clock.now += timedelta(minutes=31)
    assert (await browser.request("GET", "/api/agents")).status == 401  # idle too long
    assert session_rows(stack) == 0

    browser = await stack.logged_in("sup1")
    for _ in range(25):  # busy all day: the absolute lifetime (12 h) still ends it
        stack.clock.now += timedelta(minutes=29)
        if (await browser.request("GET", "/api/agents")).status == 401:
            break
    else:
        pytest.fail("the session outlived its lifetime")
    assert session_rows(stack) == 0


async def test_a_new_password_ends_the_users_sessions(stack: WebStack) -> None:
    from datetime import UTC, datetime

    from callcenter.web.passwords import hash_password
    from callcenter.web.user_store import set_password

    browser = await stack.logged_in("ag1")
    engine = create_engine(stack.database_url)
    try:
        with engine.begin() as connection:
            set_password(connection, "ag1", hash_password("a-brand-new-password"), datetime.now(UTC))
    finally:
        engine.dispose()
    assert (await browser.request("GET", "/api/agents")).status == 401
    assert (await browser.log_in("ag1", "a-brand-new-password")).status == 303


async def test_repeated_wrong_passwords_lock_the_name_for_a_while_even_for_the_right_one(stack: WebStack) -> None:
    browser = stack.browser()
    for _ in range(5):
        assert (await browser.log_in("ag1", "not-the-password")).status == 401
    locked = await browser.log_in("ag1")
    assert locked.status == 429 and "Too many failed log-ins" in locked.text and browser.cookie == ""
    assert (await stack.browser().log_in("ag2")).status == 303  # another name is not locked


async def test_wrong_passwords_sent_in_parallel_meet_the_same_lock_out(stack: WebStack) -> None:
    # Each attempt is counted before its password is checked: twelve at once get no more than five checks.
    answers = await asyncio.gather(*(stack.browser().log_in("ag1", f"guess-{n}") for n in range(12)))
    statuses = sorted(answer.status for answer in answers)
    assert statuses.count(401) == 5 and statuses.count(429) == 7, statuses
    assert (await stack.browser().log_in("ag1")).status == 429  # the right password too, for a while


async def test_a_log_in_posted_without_the_forms_token_and_cookie_is_refused(stack: WebStack) -> None:
    # As a form on another site would post it: no SameSite=Strict cookie comes with it (log-in CSRF).
    browser = stack.browser()
    form = {"username": "ag1", "password": USERS["ag1"][2], "next": "/"}
    answer = await browser.request("POST", "/login", form=form, csrf=False)
    assert answer.status == 403 and "came from another site" in answer.text and browser.cookie == ""
    token = await browser.login_form()
    browser.login_cookie = "another-" + token  # a token, but not the one this browser was given
    answer = await browser.request("POST", "/login", form={**form, "login_token": token}, csrf=False)
    assert answer.status == 403 and browser.cookie == ""
    assert session_rows(stack) == 0


@pytest.mark.parametrize("target", ["//evil.example/x", "http://evil.example/", "/\\evil", "javascript:alert(1)"])
async def test_log_in_never_redirects_off_site(stack: WebStack, target: str) -> None:
    answer = await stack.browser().log_in("ag1", next_page=target)
    assert answer.status == 303 and answer.headers["Location"] == "/"


# --- CSRF ---------------------------------------------------------------------------------------------------------


async def test_every_state_changing_route_needs_the_csrf_token_with_the_cookie(stack: WebStack) -> None:
    browser = await stack.logged_in("boss")
    posts = ["/logout", *sorted(path for method, path in registered_operations(stack.app) if method == "POST")]
    assert len(posts) >= 10
    for path in posts:
        for sent in ({}, {"X-CSRF-Token": "not-the-token"}):
            answer = await browser.request("POST", concrete(path), json_body={}, csrf=False, headers=sent)
            assert answer.status == 403, (path, answer.text)
            assert "CSRF" in answer.json()["error"]
    assert stack.acd.agent_states == {} and stack.originated == [] and stack.audits() == []


async def test_with_the_csrf_token_the_same_request_is_done(stack: WebStack) -> None:
    browser = await stack.logged_in("ag1")
    answer = await browser.request("POST", "/api/agents/1001/login", json_body={})
    assert answer.status == 200, answer.text
    assert stack.acd.agent_states["1001"] == (AgentState.AVAILABLE, "")


async def test_another_sessions_csrf_token_is_refused(stack: WebStack) -> None:
    mine, theirs = await stack.logged_in("ag1"), await stack.logged_in("ag1")
    assert mine.csrf != theirs.csrf
    answer = await mine.request("POST", "/api/agents/1001/login", json_body={}, headers={"X-CSRF-Token": theirs.csrf})
    assert answer.status == 403


async def test_the_bearer_token_needs_no_csrf_token(stack: WebStack) -> None:
    client = stack.browser()
    client.extra_headers["Authorization"] = f"Bearer {TOKEN}"
    answer = await client.request("POST", "/api/agents/1002/login", json_body={})
    assert answer.status == 200
    assert (await client.request("GET", "/api/dialplan")).status == 200  # an admin service account


# --- roles --------------------------------------------------------------------------------------------------------

REFUSED: list[tuple[str, str, str, object]] = [
    # an agent: nobody else's state, no monitoring, no recordings, no admin
    ("ag1", "GET", "/api/agents/1002", None),
    ("ag1", "POST", "/api/agents/1002/login", {}),
    ("ag1", "POST", "/api/agents/1002/pause", {}),
    ("ag1", "POST", "/api/agents/1002/unpause", {}),
    ("ag1", "POST", "/api/agents/1002/logout", {}),
    ("ag1", "GET", "/api/agents/1002/recording", None),
    ("ag1", "POST", "/api/agents/1002/recording/start", {}),
    ("ag1", "GET", "/api/monitor", None),
    ("ag1", "POST", "/api/monitor", {"supervisor": "1901", "agent": "1001", "mode": "listen"}),
    ("ag1", "GET", "/api/recordings", None),
    ("ag1", "GET", "/api/recordings/rec-support", None),
    ("ag1", "GET", "/api/recordings/rec-support/audio", None),
    ("ag1", "POST", "/api/recordings/rec-support/hold", {"hold": True}),
    ("ag1", "GET", "/api/dialplan", None),
    ("ag1", "POST", "/api/dialplan/check", {}),
    ("ag1", "POST", "/api/dialplan/reload", {}),
    ("ag1", "GET", "/recordings", None),
    ("ag1", "GET", "/admin", None),
    # a supervisor of sales: not agents outside sales, no agent's actions, not another's phone, no admin
    ("sup2", "GET", "/api/agents/1001", None),
    ("sup2", "GET", "/api/agents/1001/recording", None),
    ("sup2", "POST", "/api/agents/1003/login", {}),
    ("sup2", "POST", "/api/agents/1003/pause", {}),
    ("sup2", "POST", "/api/agents/1003/recording/start", {}),
    ("sup2", "POST", "/api/monitor", {"supervisor": "1901", "agent": "1003", "mode": "listen"}),
    ("sup2", "POST", "/api/monitor", {"supervisor": "1902", "agent": "1001", "mode": "listen"}),
    ("sup2", "GET", "/api/recordings?queue=support", None),
    ("sup2", "GET", "/api/recordings/rec-support", None),
    ("sup2", "GET", "/api/recordings/rec-support/audio", None),
    ("sup2", "POST", "/api/recordings/rec-support/hold", {"hold": True}),
    ("sup2", "GET", "/api/dialplan", None),
    ("sup2", "POST", "/api/dialplan/reload", {}),
    ("sup2", "GET", "/admin", None),
    # a supervisor of the recording's queue may set a legal hold, not release one
    ("sup1", "POST", "/api/recordings/rec-support/hold", {"hold": False}),
]


@pytest.mark.parametrize(("user", "method", "path", "body"), REFUSED)
async def test_a_wrong_role_is_refused(stack: WebStack, user: str, method: str, path: str, body: object) -> None:
    browser = await stack.logged_in(user)
    answer = await browser.request(method, path, json_body=body)
    assert answer.status == 403, answer.text
    assert stack.acd.agent_states == {} and stack.originated == []


async def test_a_supervisor_sees_the_agents_of_their_queues_only(stack: WebStack) -> None:
    sales = await stack.logged_in("sup2")
    listed = [agent["extension"] for agent in (await sales.request("GET", "/api/agents")).json()["agents"]]
    assert listed == ["1002", "1003"]
    everyone = await stack.logged_in("sup1")
    listed = [agent["extension"] for agent in (await everyone.request("GET", "/api/agents")).json()["agents"]]
    assert listed == ["1001", "1002", "1003"]
    me = await stack.logged_in("ag2")
    assert [agent["extension"] for agent in (await me.request("GET", "/api/agents")).json()["agents"]] == ["1002"]


async def test_an_agent_changes_their_own_state(stack: WebStack) -> None:
    browser = await stack.logged_in("ag2")
    assert (await browser.request("POST", "/api/agents/1002/login", json_body={})).status == 200
    answer = await browser.request("POST", "/api/agents/1002/pause", json_body={"reason": "lunch"})
    assert answer.status == 200 and answer.json()["state"] == "paused"
    assert (await browser.request("POST", "/api/agents/1002/unpause", json_body={})).status == 200
    assert (await browser.request("POST", "/api/agents/1002/logout", json_body={})).status == 200
    assert stack.acd.agent_states["1002"] == (AgentState.LOGGED_OUT, "")


async def test_a_supervisor_monitors_from_their_own_phone_and_sees_their_sessions(stack: WebStack) -> None:
    browser = await stack.logged_in("sup2")
    body = {"supervisor": "1902", "agent": "1003", "mode": "whisper"}
    answer = await browser.request("POST", "/api/monitor", json_body=body)
    assert answer.status == 202, answer.text
    async with asyncio.timeout(STEP):
        await stack.rang.wait()
    assert stack.originated[0]["Channel"] == "PJSIP/1902"
    assert "CC_SPY_AGENT=1003" in stack.originated[0]["Variable"]


async def test_a_refused_monitoring_outside_the_queues_is_audited_with_the_users_name(stack: WebStack) -> None:
    browser = await stack.logged_in("sup2")
    answer = await browser.request("POST", "/api/monitor", json_body={"supervisor": "1902", "agent": "1001"})
    assert answer.status == 403
    [entry] = stack.audits()
    assert entry.actor.startswith("sup2@") and not entry.allowed


async def test_recordings_are_of_the_supervisors_queues_and_audited_with_the_users_name(stack: WebStack) -> None:
    sales = await stack.logged_in("sup2")
    found = (await sales.request("GET", "/api/recordings")).json()["recordings"]
    assert [row["recording_id"] for row in found] == ["rec-sales"]
    audio = await sales.request("GET", "/api/recordings/rec-sales/audio?inline=1")
    assert audio.status == 200 and audio.headers["Content-Type"] == "audio/wav"
    assert audio.headers["Content-Disposition"].startswith("inline")
    refused = await sales.request("GET", "/api/recordings/rec-support/audio")
    assert refused.status == 403
    everyone = await stack.logged_in("sup1")
    found = (await everyone.request("GET", "/api/recordings")).json()["recordings"]
    assert sorted(row["recording_id"] for row in found) == ["rec-sales", "rec-support"]
    entries = [(e.actor, e.action, e.target, e.allowed) for e in stack.audits()]
    assert entries == [
        ("sup2", "recording.list", "recordings", True),
        ("sup2", "recording.download", "rec-sales", True),
        ("sup2", "recording.download", "rec-support", False),
        ("sup1", "recording.list", "recordings", True),
    ]


async def test_an_agent_refused_the_recordings_is_audited(stack: WebStack) -> None:
    browser = await stack.logged_in("ag1")
    assert (await browser.request("GET", "/api/recordings/rec-support")).status == 403
    [entry] = stack.audits()
    assert (entry.actor, entry.action, entry.allowed) == ("ag1", "recording.metadata", False)


async def test_security_headers_forbid_framing_and_inline_script(stack: WebStack) -> None:
    page = await stack.browser().request("GET", "/login", accept="text/html")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'self': no inline script
    assert "<script>" not in page.text
