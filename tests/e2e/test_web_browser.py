"""The web pages in headless Chromium against the real stack: log-in, the live wallboard following a SIPp
call into a queue, a whisper started from the page ringing the supervisor's phone into the session, the
call's recording found and played in the page (audited under the user's name), the admin's dialplan check,
and a report downloaded as CSV. Every wait is bounded (tests/e2e/browser.py)."""

from __future__ import annotations

import csv
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.browser import WAIT_MS, chromium, log_in, web_user
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.media import write_media_pcap
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_acd_routing import Agents, agents
from tests.e2e.test_inbound_ivr import new_caller
from tests.e2e.test_monitoring import audit_of, poll_rows, sessions_of
from tests.e2e.test_recording import Api, api, recordings_of

pytestmark = pytest.mark.e2e

__all__ = ["agents", "api"]  # the fixtures, imported for the tests here

SUPPORT_LINE = "88005553535"  # key 2: the support queue


@pytest.fixture
def base(settings: Settings, service: ServiceProcess) -> str:
    return f"http://{settings.http_host}:{settings.http_port}"


def offered_today(page: Page, queue: str) -> int:
    return int(page.locator(f'#queues tr[data-queue="{queue}"] td.offered').inner_text(timeout=WAIT_MS))


def test_log_in_is_required_and_a_wrong_password_is_refused(base: str) -> None:
    password = web_user("web-agent", "agent", "1003")
    with chromium() as browser:
        page = browser.new_page()
        page.goto(base + "/recordings")
        assert page.url.startswith(base + "/login")
        page.fill("#username", "web-agent")
        page.fill("#password", password + "x")
        page.click("#log-in")
        expect(page.locator("#login-error")).to_have_text("Wrong user name or password.", timeout=WAIT_MS)
        log_in(page, base, "web-agent", password)
        expect(page.locator("#my-panel")).to_be_visible(timeout=WAIT_MS)
        [cookie] = [c for c in page.context.cookies() if c["name"] == "cc_session"]
        assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
        page.click("#logout")
        page.wait_for_url(re.compile(r".*/login$"), timeout=WAIT_MS)
        page.goto(base + "/wallboard")
        assert "/login" in page.url


def test_the_wallboard_follows_a_call_into_the_queue_and_a_whisper_starts_from_the_page(
    base: str, agents: Agents, api: Api, stack: Stack, target: tuple[str, int], sipp_dir: Path
) -> None:
    password = web_user("web-sup", "supervisor", "1901")
    with chromium() as browser:
        page = browser.new_page()
        log_in(page, base, "web-sup", password)
        anna_row = page.locator('#agents tr[data-agent="1001"] td.state')
        expect(anna_row).to_have_text(re.compile(r"^logged_out"), timeout=WAIT_MS)

        anna = agents.phone("1001")
        agents.log_in(anna)  # by the phone's *50: the page hears of it from the ACD
        expect(anna_row).to_have_text("available", timeout=WAIT_MS)
        before = offered_today(page, "support")

        boss = agents.phone("1901")
        since = datetime.now().astimezone()
        agent_voice, boss_voice = sipp_dir / "agent.pcap", sipp_dir / "boss.pcap"
        write_media_pcap(agent_voice, tone_hz=1000.0, seconds=30)
        write_media_pcap(boss_voice, tone_hz=1700.0, seconds=8)
        script = CallScript(keys=((1500, "2"),), tone_hz=500.0, tone_seconds=40)
        caller = new_caller()
        with ThreadPoolExecutor(3) as pool:
            answering = pool.submit(anna.answer_and_talk, agent_voice, 20_000)
            calling = pool.submit(run_sipp, "carrier_call.xml", target, SUPPORT_LINE, caller, sipp_dir, script)
            # The call enters the queue: counted on the board, and Anna goes on the call.
            expect(page.locator('#queues tr[data-queue="support"] td.offered')).to_have_text(
                str(before + 1), timeout=20_000
            )
            expect(anna_row).to_have_text("on_call", timeout=20_000)
            expect(page.locator('#agents tr[data-agent="1001"] td').nth(4)).to_contain_text("support")

            supervising = pool.submit(boss.answer_and_talk, boss_voice, 6_000)
            page.click('#agents tr[data-agent="1001"] button[data-monitor="whisper"]')
            expect(page.locator("#message")).to_contain_text("whisper on 1001: ringing", timeout=WAIT_MS)
            supervised = supervising.result(timeout=60)
            call, answered = calling.result(timeout=90), answering.result(timeout=90)
        assert supervised.ok, supervised.output  # the supervisor's phone rang and was answered into the session
        assert call.ok, call.output
        assert answered.ok, answered.output
        expect(anna_row).not_to_have_text("on_call", timeout=20_000)

        # The support queue records every call: the supervisor finds it and plays it in the page.
        linkedid = wait_for_record(caller)["linkedid"]
        [recording] = recordings_of(linkedid)
        page.click("nav >> text=Recordings")
        page.fill('input[name="linkedid"]', linkedid)
        page.click('#recording-search button[type="submit"]')
        row = page.locator(f'#recordings tr[data-recording="{recording["recording_id"]}"]')
        expect(row).to_have_count(1, timeout=WAIT_MS)
        row.locator("button").click()
        page.wait_for_function(
            "() => { const a = document.querySelector('#recordings audio'); return a && a.duration > 5; }",
            timeout=WAIT_MS,
        )
        assert row.locator("a").get_attribute("href") == f"/api/recordings/{recording['recording_id']}/audio"

    played = poll_rows(
        stack,
        "SELECT * FROM audit_log WHERE action = 'recording.download' AND target = :target",
        {"target": recording["recording_id"]},
        lambda rows: bool(rows),
    )
    assert played and all(row["actor"] == "web-sup" and row["allowed"] for row in played)
    [session] = sessions_of(stack, "1001", since)
    assert (session["supervisor"], session["via"]) == ("1901", "api")
    assert session["modes"][0][0] == "whisper"
    [decision] = audit_of(stack, "1001", since, 1)
    assert decision["actor"].startswith("web-sup@") and decision["allowed"]


def queued_today(stack: Stack) -> int:
    """Queue visits that began today (UTC, the tests' web time zone), counted from the raw call steps: each
    `queued` step but one in the queue a visit still waits in (a caller back at their place after a restart
    of the service, tests/e2e/test_restart.py, is the same visit)."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = poll_rows(
        stack,
        "SELECT node, linkedid, step, queue FROM call_steps WHERE linkedid IN (SELECT linkedid FROM call_steps"
        " WHERE step = 'queued' AND at >= :start AND at < :end) ORDER BY node, linkedid, at, id",
        {"start": midnight, "end": midnight + timedelta(days=1)},
        lambda rows: True,
    )
    visits, waiting_in = 0, dict[tuple[str, str], str]()
    for row in rows:
        call = (row["node"], row["linkedid"])
        if row["step"] == "queued":
            if waiting_in.get(call) != row["queue"]:
                visits += 1
            waiting_in[call] = row["queue"]
        elif row["step"] in ("connected", "abandoned", "overflowed", "callback_requested"):
            waiting_in.pop(call, None)
    return visits


def test_the_admin_checks_the_dialplan_and_a_report_downloads_as_csv(base: str, stack: Stack, tmp_path: Path) -> None:
    password = web_user("web-admin", "admin")
    with chromium() as browser:
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        log_in(page, base, "web-admin", password, "/admin")
        expect(page.locator("#dialplan-version")).to_contain_text("live:", timeout=WAIT_MS)
        page.click("#dialplan-check")
        expect(page.locator("#dialplan-result")).to_have_text("Check: OK", timeout=WAIT_MS)

        # Today's report by interval, downloaded until the rollups (kept every 10 s) hold every queue visit
        # the raw steps show; earlier tests of this run put calls in the queues.
        deadline = time.monotonic() + 30
        while True:
            page.goto(base + "/reports")
            expect(page.locator("svg.chart")).to_have_count(2, timeout=WAIT_MS)
            with page.expect_download(timeout=WAIT_MS) as download:
                page.click("#report-csv")
            saved = tmp_path / "report.csv"
            download.value.save_as(saved)
            rows = list(csv.DictReader(saved.read_text().splitlines()))
            offered, expected = sum(int(row["offered"]) for row in rows), queued_today(stack)
            if (offered == expected and expected > 0) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert re.fullmatch(r"report-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d-interval\.csv", download.value.suggested_filename)
        assert expected > 0, "no call entered a queue today: nothing to report"
        assert offered == expected, f"the CSV counts {offered} offered, the raw steps {expected}"
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\+00:00", row["group"]) for row in rows)
        context.close()
