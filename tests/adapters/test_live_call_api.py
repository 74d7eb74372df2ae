"""The HTTP routes for calls going on (callcenter/web/live_call_api.py): monitoring asked for and refused,
recording control, on a real aiohttp server on loopback. The desks are the real ones; AMI is a stub that
keeps the actions (tests/e2e/test_monitoring.py and test_recording.py run them against Asterisk)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from panoramisk.message import Message

from callcenter.acd.setup import acd_rules
from callcenter.calls.acd_service import AcdService
from callcenter.calls.monitoring import MonitorDesk
from callcenter.calls.recordings import RecordingDesk
from callcenter.dialplan.loader import load_dialplan
from callcenter.records import AuditEntry, MonitorSession, Recording
from callcenter.web.server import create_app

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"
TOKEN = "test-token"


class Service:
    def __init__(self, tmp_path: Path) -> None:
        dialplan = load_dialplan(SAMPLE)
        self.actions: list[dict[str, str]] = []
        self.originated: list[dict[str, str]] = []
        self.rang = asyncio.Event()
        self.written: list[Recording | MonitorSession | AuditEntry] = []

        async def act(action: dict[str, str]) -> Message:
            self.actions.append(action)
            return Message({"Response": "Success"})

        async def originate(action: dict[str, str], timeout: float) -> Message:
            self.originated.append(action)
            self.rang.set()
            return Message({"Response": "Success"})

        self.recordings = RecordingDesk(
            lambda: dialplan, act, self.written.append, "node1", tmp_path / "in", PurePosixPath("/r"), tmp_path, "wav"
        )
        self.monitoring = MonitorDesk(lambda: dialplan, originate, self.written.append, "node1")
        acd = AcdService(*acd_rules(dialplan))
        self.app = create_app(acd, lambda: dialplan, TOKEN, live_calls=(self.recordings, self.monitoring))


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Service, aiohttp.ClientSession, str]]:
    service = Service(tmp_path)
    runner = web.AppRunner(service.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {TOKEN}"}) as session:
        yield service, session, f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def _call(session: aiohttp.ClientSession, method: str, url: str, body: object = None) -> tuple[int, Any]:
    async with session.request(method, url, json=body) as response:
        return response.status, await response.json()


async def test_a_supervisor_outside_the_agents_queues_is_refused_and_the_refusal_audited(
    served: tuple[Service, aiohttp.ClientSession, str],
) -> None:
    service, session, base = served
    # 1902 supervises sales; agent 1001 works support and orders.
    status, body = await _call(session, "POST", f"{base}/api/monitor", {"supervisor": "1902", "agent": "1001"})
    assert status == 403 and "not in their queues" in body["error"]
    [entry] = service.written
    assert isinstance(entry, AuditEntry)
    assert (entry.action, entry.target, entry.allowed, entry.actor.startswith("api@")) == (
        "monitor.start",
        "1001",
        False,
        True,
    )
    assert service.originated == []


async def test_a_monitoring_request_rings_the_supervisors_phone_into_the_session(
    served: tuple[Service, aiohttp.ClientSession, str],
) -> None:
    service, session, base = served
    request = {"supervisor": "1901", "agent": "1001", "mode": "whisper"}
    status, body = await _call(session, "POST", f"{base}/api/monitor", request)
    assert status == 202, body
    async with asyncio.timeout(2):
        await service.rang.wait()
    [ring] = service.originated
    assert (ring["Channel"], ring["Context"], ring["Exten"]) == ("PJSIP/1901", "cc-supervise", "s")
    assert ring["Variable"] == f"CC_SPY_AGENT=1001,CC_SPY_MODE=whisper,CC_SPY_SESSION={body['session_id']}"


@pytest.mark.parametrize(
    ("request_body", "status"),
    [
        ({"supervisor": "1901", "agent": "1001", "mode": "shout"}, 400),
        ({"supervisor": "1901", "agent": "10;01"}, 400),
        ({"supervisor": "1901", "agent": "1001", "extra": 1}, 400),
        ({"supervisor": "1001", "agent": "1002"}, 404),  # an agent is not a supervisor
        ({"supervisor": "1901", "agent": "1999"}, 404),
    ],
)
async def test_bad_monitoring_requests_are_told_what_is_wrong(
    served: tuple[Service, aiohttp.ClientSession, str], request_body: dict[str, object], status: int
) -> None:
    service, session, base = served
    answer, body = await _call(session, "POST", f"{base}/api/monitor", request_body)
    assert answer == status and body["error"]
    assert service.originated == []


async def test_recording_control_needs_a_call_and_a_policy_that_allows_it(
    served: tuple[Service, aiohttp.ClientSession, str],
) -> None:
    service, session, base = served
    status, body = await _call(session, "POST", f"{base}/api/agents/1003/recording/start")
    assert status == 409 and "not_on_call" in body["error"]
    status, _ = await _call(session, "GET", f"{base}/api/agents/1003/recording")
    assert status == 404
    # Agent 1003 answers a sales call (on demand in the sample dialplan): start, pause, resume, stop.
    service.recordings.plan_offer("u1", "call-1", "sales", None)
    service.recordings.event(
        Message({"Event": "DialEnd", "DialStatus": "ANSWER", "Uniqueid": "u1", "DestChannel": "PJSIP/1003-0001"})
    )
    for action in ("start", "pause", "resume", "stop"):
        status, body = await _call(session, "POST", f"{base}/api/agents/1003/recording/{action}")
        assert status == 200 and body["done"] == action, body
    assert [action["Action"] for action in service.actions] == [
        "MixMonitor",
        "MixMonitorMute",
        "MixMonitorMute",
        "StopMixMonitor",
    ]
    status, body = await _call(session, "POST", f"{base}/api/agents/1003/recording/resume")
    assert status == 409 and "not_recording" in body["error"]
    status, _ = await _call(session, "POST", f"{base}/api/agents/1003/recording/rewind")
    assert status == 404
