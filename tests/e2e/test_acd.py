"""The ACD end to end: an agent on a SIPp desk phone logs in by feature code and answers a queued caller."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, SippResult, run_sipp
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

PHONE = "127.0.0.3"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((PHONE, 0))
        port: int = probe.getsockname()[1]
    return port


class DeskPhone:
    """An agent's phone: registered at one address and port, where it also takes calls."""

    def __init__(self, settings: Settings, extension: str, password: str, work_dir: Path) -> None:
        self.target = (settings.sip_host, settings.sip_port)
        self.extension = extension
        self.credentials = ("-key", "user", extension, "-au", extension, "-ap", password)
        self.port = _free_port()
        self.work_dir = work_dir

    def _run(self, scenario: str, service: str, timeout_s: int = 20) -> SippResult:
        return run_sipp(
            scenario,
            self.target,
            service,
            self.extension,
            self.work_dir,
            local_ip=PHONE,
            timeout_s=timeout_s,
            extra=(*self.credentials, "-p", str(self.port)),
        )

    def register(self) -> None:
        result = self._run("phone_register.xml", "register")
        assert result.ok, result.output

    def dial_code(self, code: str) -> None:
        result = self._run("phone_feature_code.xml", code)
        assert result.ok, result.output

    def answer_one_call(self) -> SippResult:
        return self._run("phone_answer.xml", "answer", timeout_s=60)


@pytest.fixture
def agent_phone(stack: Stack, settings: Settings, service: ServiceProcess, tmp_path: Path) -> Iterator[DeskPhone]:
    phone = DeskPhone(settings, "1001", stack.secrets.phone_passwords["1001"], tmp_path)
    phone.register()
    mark = service.mark()
    phone.dial_code("*50")
    service.wait_for(r"agent 1001 is available", start=mark)
    yield phone
    mark = service.mark()
    phone.dial_code("*51")
    service.wait_for(r"agent 1001 is logged_out", start=mark)


def test_a_queued_caller_is_offered_to_the_logged_in_agent_who_answers(
    agent_phone: DeskPhone, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    with ThreadPoolExecutor(1) as pool:
        answering = pool.submit(agent_phone.answer_one_call)
        result = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(keys=((1500, "2"),)))
        answered = answering.result(timeout=70)
    assert result.ok, result.output
    assert answered.ok, answered.output
    record = wait_for_record(caller)
    assert (record["outcome"], record["queue"], record["agent"]) == ("answered", "support", "1001")
    assert record["queued_at"] <= record["connected_at"] <= record["ended_at"]
