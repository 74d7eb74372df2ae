"""Agents' ACD state as presence on desk phones (BLF), end to end.

An agent logs in and out on a SIPp desk phone by feature code; a supervisor's SIPp phone subscribes to
the agent's hint (*81001) like a BLF key and checks the NOTIFY bodies (tests/sipp/phone_subscribe.xml);
AMI ExtensionState shows what dialog-info cannot tell apart (logged out from available).
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.conftest import ServiceProcess
from tests.e2e.sipp import SippResult
from tests.e2e.test_acd import DeskPhone

pytestmark = pytest.mark.e2e

AGENT, WATCHER = "1001", "1901"  # an agent and the supervisor of their queues
HINT = f"*8{AGENT}"

# AMI ExtensionState's Status for the hint, as the device states of callcenter.calls.presence make it.
IDLE, HOLD, UNAVAILABLE = "0", "16", "4"


class Ami:
    """A minimal blocking AMI session for the test to ask Asterisk what it shows (events off)."""

    def __init__(self, port: int, username: str, secret: str) -> None:
        self._socket = socket.create_connection(("127.0.0.1", port), timeout=5)
        self._buffer = b""
        self._next_id = 0
        while b"\r\n" not in self._buffer:  # the banner
            self._buffer += self._socket.recv(4096)
        self._buffer = self._buffer.split(b"\r\n", 1)[1]
        [reply] = self.action({"Action": "Login", "Username": username, "Secret": secret, "Events": "off"})
        assert reply.get("Response") == "Success", reply

    def __enter__(self) -> Ami:
        return self

    def __exit__(self, *_: object) -> None:
        self._socket.close()

    def action(self, fields: dict[str, str]) -> list[dict[str, str]]:
        """The response and, for a list, the events that follow it up to the one ending the list."""
        self._next_id += 1
        action_id = f"test-{self._next_id}"
        text = "".join(f"{key}: {value}\r\n" for key, value in {**fields, "ActionID": action_id}.items())
        self._socket.sendall(text.encode() + b"\r\n")
        messages: list[dict[str, str]] = []
        while True:
            message = self._message()
            if message.get("ActionID") != action_id:
                continue
            messages.append(message)
            listing = message.get("EventList") == "start" or "will follow" in message.get("Message", "")
            if len(messages) == 1 and not listing:
                return messages
            if message.get("EventList") == "Complete":
                return messages

    def _message(self) -> dict[str, str]:
        while b"\r\n\r\n" not in self._buffer:
            data = self._socket.recv(65536)
            assert data, "AMI closed the connection"
            self._buffer += data
        block, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = block.decode(errors="replace").split("\r\n")
        return dict(line.split(": ", 1) for line in lines if ": " in line)

    def hint_status(self, exten: str) -> str:
        [reply] = self.action({"Action": "ExtensionState", "Exten": exten, "Context": "from-phones"})
        assert reply.get("Response") == "Success", reply
        assert reply.get("Hint") == f"Custom:cc-agent-{exten.removeprefix('*8')}", reply
        return reply["Status"]

    def wait_for_hint(self, exten: str, status: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while (seen := self.hint_status(exten)) != status:
            assert time.monotonic() < deadline, f"hint {exten} has status {seen}, not {status}, after {timeout} s"
            time.sleep(0.1)

    def wait_for_subscription(self, endpoint: str, timeout: float = 15.0) -> None:
        """Until a subscription from ``endpoint`` is established in Asterisk."""
        deadline = time.monotonic() + timeout
        while True:
            listed = self.action({"Action": "PJSIPShowSubscriptionsInbound"})
            if any(m.get("Event") == "InboundSubscriptionDetail" and m.get("Endpoint") == endpoint for m in listed):
                return
            assert time.monotonic() < deadline, f"no subscription from {endpoint} after {timeout} s: {listed}"
            time.sleep(0.1)


class WatchingPhone(DeskPhone):
    """A phone with a BLF key: subscribes to a hint and checks what each NOTIFY says."""

    def watch(self, hint: str) -> SippResult:
        return self._run("phone_subscribe.xml", hint, timeout_s=90)


def open_ami(stack: Stack) -> Ami:
    return Ami(stack.settings.ami_port, stack.settings.ami_username, stack.secrets.ami_secret)


@pytest.fixture
def ami(stack: Stack, service: ServiceProcess) -> Iterator[Ami]:
    with open_ami(stack) as session:
        yield session


@pytest.fixture
def agent(stack: Stack, settings: Settings, service: ServiceProcess, ami: Ami, tmp_path: Path) -> Iterator[DeskPhone]:
    """Agent 1001 logged in (and seen so by the hint); logged out again afterwards, whatever the test did."""
    phone = DeskPhone(settings, AGENT, stack.secrets.phone_passwords[AGENT], tmp_path)
    phone.register()
    ami.wait_for_hint(HINT, UNAVAILABLE)  # logged out, as every agent is before logging in
    mark = service.mark()
    phone.dial_code("*50")
    service.wait_for(rf"agent {AGENT} is available", start=mark)
    ami.wait_for_hint(HINT, IDLE)
    yield phone
    with open_ami(stack) as session:  # the test's session may have gone with an Asterisk it restarted
        if session.hint_status(HINT) != UNAVAILABLE:
            phone.dial_code("*51")
            session.wait_for_hint(HINT, UNAVAILABLE)


def _notify_bodies(messages: str) -> list[str]:
    """The body of every NOTIFY SIPp received, in order."""
    bodies = []
    for block in messages.split("message received")[1:]:
        if re.search(r"^\s*NOTIFY sip:", block, re.MULTILINE):
            bodies.append(block.split("\n\n", 1)[1] if "\n\n" in block else "")
    return bodies


def test_a_blf_subscription_to_the_agent_shows_available_paused_and_logged_out(
    agent: DeskPhone, ami: Ami, stack: Stack, settings: Settings, service: ServiceProcess, tmp_path: Path
) -> None:
    watcher = WatchingPhone(settings, WATCHER, stack.secrets.phone_passwords[WATCHER], tmp_path)
    with ThreadPoolExecutor(1) as pool:
        watching = pool.submit(watcher.watch, HINT)
        ami.wait_for_subscription(WATCHER)
        mark = service.mark()
        agent.dial_code("*52")
        service.wait_for(rf"agent {AGENT} is paused \(break\)", start=mark)
        ami.wait_for_hint(HINT, HOLD)
        mark = service.mark()
        agent.dial_code("*51")
        service.wait_for(rf"agent {AGENT} is logged_out", start=mark)
        ami.wait_for_hint(HINT, UNAVAILABLE)
        result = watching.result(timeout=100)
    assert result.ok, result.output + result.messages
    # SIPp checked each NOTIFY as it came (the scenario's ereg checks); here, all of them in order.
    bodies = _notify_bodies(result.messages)
    states = [re.findall(r"<state>(\w+)</state>", body) for body in bodies]
    assert states[:3] == [["terminated"], ["confirmed"], ["terminated"]], bodies
    assert all(f'id="{HINT}"' in body for body in bodies[:3]), bodies
    held = ['pname="+sip.rendering" pvalue="no"' in body for body in bodies[:3]]
    assert held == [False, True, False], bodies


def test_asterisk_restarted_without_its_astdb_gets_every_agent_state_again(
    agent: DeskPhone, ami: Ami, stack: Stack, settings: Settings, service: ServiceProcess
) -> None:
    mark = service.mark()
    agent.dial_code("*52")
    service.wait_for(rf"agent {AGENT} is paused \(break\)", start=mark)
    ami.wait_for_hint(HINT, HOLD)
    full_log = stack.asterisk.log_file.with_name("full")
    mark = service.mark()
    stack.asterisk.stop()
    service.wait_for(r"AMI connection to .* lost", start=mark)
    # The custom device states live in the astdb: without it, Asterisk knows nothing of the agents.
    (settings.asterisk_state_dir / "db" / "astdb.sqlite3").unlink()
    log_start = full_log.stat().st_size
    stack.asterisk.start()
    stack.asterisk.wait_ready(settings.ami_port)
    service.wait_for(r"AMI reconnected", start=mark, timeout=30)
    with open_ami(stack) as fresh:
        fresh.wait_for_hint(HINT, HOLD)  # a custom state never set would read Idle
        fresh.wait_for_hint("*81002", UNAVAILABLE)  # and every other agent is shown logged out
        mark = service.mark()
        agent.dial_code("*51")
        service.wait_for(rf"agent {AGENT} is logged_out", start=mark)
        fresh.wait_for_hint(HINT, UNAVAILABLE)
    with full_log.open(errors="replace") as log:
        log.seek(log_start)
        assert "DEVICE_STATE not registered" not in log.read()
