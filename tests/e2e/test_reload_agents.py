"""A reload that adds an agent: their phone registers, their BLF hint exists, and they log in to the ACD,
all without restarting anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.conftest import ServiceProcess
from tests.e2e.test_acd import DeskPhone
from tests.e2e.test_dialplan import reload
from tests.e2e.test_presence import IDLE, UNAVAILABLE, open_ami

pytestmark = pytest.mark.e2e

NEW_AGENT = '  - extension: "1004"\n    name: Dmitry Orlov\n    password: "Reload-test-pw-7x"\n    queues: [support]\n'


@pytest.fixture
def agent_added(settings: Settings, service: ServiceProcess) -> Iterator[None]:
    agents = settings.dialplan_dir / "agents.yaml"
    before = agents.read_text()
    agents.write_text(before.replace("\nsupervisors:", "\n" + NEW_AGENT + "\nsupervisors:"))
    mark = service.mark()
    reload()
    service.wait_for(r"Asterisk config updated for the new dialplan", start=mark, timeout=20)
    yield
    agents.write_text(before)
    mark = service.mark()
    reload()
    service.wait_for(r"Asterisk config updated for the new dialplan", start=mark, timeout=20)


def test_an_agent_added_by_a_reload_registers_shows_a_hint_and_logs_in(
    agent_added: None, stack: Stack, settings: Settings, service: ServiceProcess, tmp_path: Path
) -> None:
    phone = DeskPhone(settings, "1004", "Reload-test-pw-7x", tmp_path)
    phone.register()  # PJSIP has the new endpoint
    with open_ami(stack) as ami:
        ami.wait_for_hint("*81004", UNAVAILABLE)  # the hint exists, and shows the new agent logged out
        mark = service.mark()
        phone.dial_code("*50")
        service.wait_for(r"agent 1004 is available", start=mark)  # the ACD knows the new agent
        ami.wait_for_hint("*81004", IDLE)
        mark = service.mark()
        phone.dial_code("*51")
        service.wait_for(r"agent 1004 is logged_out", start=mark)
