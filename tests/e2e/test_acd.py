"""The ACD end to end: an agent on a SIPp desk phone logs in by feature code and answers a queued caller."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
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

    def _run(
        self, scenario: str, service: str, timeout_s: int = 20, port: int | None = None, extra: tuple[str, ...] = ()
    ) -> SippResult:
        return run_sipp(
            scenario,
            self.target,
            service,
            self.extension,
            self.work_dir,
            local_ip=PHONE,
            timeout_s=timeout_s,
            extra=(*self.credentials, "-p", str(port or self.port), *extra),
        )

    def register(self) -> None:
        result = self._run("phone_register.xml", "register")
        assert result.ok, result.output

    def dial_code(self, code: str) -> None:
        # From another port: the registered one may be busy answering; the endpoint is known by its credentials.
        result = self._run("phone_feature_code.xml", code, port=_free_port())
        assert result.ok, result.output

    def answer_one_call(self, scenario: str = "phone_answer.xml") -> SippResult:
        return self._run(scenario, "answer", timeout_s=60)

    def answer_and_talk(self, pcap: Path, talk_ms: int) -> SippResult:
        """Answer one offer, play ``pcap`` (tests/e2e/media.py) as the voice, hang up ``talk_ms`` after answering."""
        return self._run(
            "phone_answer_play.xml", "answer", timeout_s=90, extra=("-key", "media_pcap", str(pcap), "-d", str(talk_ms))
        )

    def dial_and_stay(self, code: str, pcap: Path, talk_ms: int) -> SippResult:
        """Dial ``code`` (e.g. *91001), play ``pcap`` (keys such as a PIN, a tone), hang up after ``talk_ms``."""
        return self._run(
            "phone_dial_and_stay.xml",
            code,
            timeout_s=90,
            port=_free_port(),
            extra=("-key", "media_pcap", str(pcap), "-d", str(talk_ms)),
        )


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
    # The phone showed the queue's name with the caller's number, and the queue in a header.
    invite = answered.messages[answered.messages.index("INVITE sip:") :]
    assert re.search(rf'From: "Support" <sip:\+?{caller}@', invite), invite[:800]
    assert "X-CC-Queue: support" in invite
    # Each step is recorded: queued first in line, offered to 1001 who answered after about a second of
    # ringing, connected, and the talk (the phone hangs up after three seconds).
    steps = {step["step"]: step for step in record["steps"]}
    assert [step["step"] for step in record["steps"]] == ["queued", "offered", "connected", "ended"]
    assert (steps["queued"]["queue"], steps["queued"]["position"]) == ("support", 1)
    assert (steps["offered"]["agent"], steps["offered"]["result"]) == ("1001", "answered")
    assert 0.5 <= steps["offered"]["seconds"] <= 4
    assert steps["connected"]["agent"] == "1001"
    assert 2 <= steps["ended"]["seconds"] <= 6


def test_a_hold_by_the_agent_is_recorded_with_its_length(
    agent_phone: DeskPhone, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    with ThreadPoolExecutor(1) as pool:
        answering = pool.submit(agent_phone.answer_one_call, "phone_answer_hold.xml")
        result = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(keys=((1500, "2"),)))
        answered = answering.result(timeout=70)
    assert result.ok, result.output
    assert answered.ok, answered.output
    record = wait_for_record(caller)
    holds = [step for step in record["steps"] if step["step"] == "hold"]
    assert len(holds) == 1, record["steps"]
    assert holds[0]["agent"] == "1001"
    assert 1.5 <= holds[0]["seconds"] <= 3.5  # the phone held the caller for two seconds


def test_waiting_callers_hear_their_position_an_abandon_is_recorded_and_unpausing_takes_the_next(
    agent_phone: DeskPhone, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    mark = service.mark()
    agent_phone.dial_code("*52")
    service.wait_for(r"agent 1001 is paused \(break\)", start=mark)
    first, second = new_caller(), new_caller()
    full_log = settings.asterisk_state_dir / "log" / "full"
    log_start = full_log.stat().st_size
    with ThreadPoolExecutor(3) as pool:
        mark = service.mark()
        leaving = pool.submit(
            run_sipp,
            "carrier_call.xml",
            target,
            "88005553535",
            first,
            sipp_dir,
            CallScript(keys=((1500, "2"),), hang_up_after_ms=16000),
        )
        service.wait_for(r"caller \S+ waits in support", start=mark)
        staying = pool.submit(
            run_sipp, "carrier_call.xml", target, "88005553535", second, sipp_dir, CallScript(keys=((1500, "2"),))
        )
        assert leaving.result(timeout=60).ok
        answering = pool.submit(agent_phone.answer_one_call)
        mark = service.mark()
        agent_phone.dial_code("*53")
        service.wait_for(r"agent 1001 is available", start=mark)
        assert staying.result(timeout=60).ok
        assert answering.result(timeout=60).ok
    abandoned, answered = wait_for_record(first), wait_for_record(second)
    assert (abandoned["outcome"], abandoned["outcome_reason"], abandoned["queue"]) == (
        "abandoned",
        "in_queue",
        "support",
    )
    waited = datetime.fromisoformat(abandoned["ended_at"]) - datetime.fromisoformat(abandoned["queued_at"])
    assert 13 <= waited.total_seconds() <= 19
    assert (answered["outcome"], answered["agent"]) == ("answered", "1001")
    with full_log.open(errors="replace") as log:
        log.seek(log_start)
        heard = log.read()
    assert "Playing 'queue-youarenext" in heard  # the first caller, first in line
    assert "Playing 'queue-thereare" in heard  # the second, behind the first


def test_a_restart_of_the_service_brings_agents_back_in_their_state_with_the_pause_reason(
    agent_phone: DeskPhone, service: ServiceProcess
) -> None:
    mark = service.mark()
    agent_phone.dial_code("*5207")  # pause, reason code 07
    service.wait_for(r"agent 1001 is paused \(07\)", start=mark)
    assert service.stop() == 0
    mark = service.mark()
    service.start()
    service.wait_for(r"agent 1001 restored as paused", start=mark, timeout=30)
    service.wait_for(r"agent 1001 is paused \(07\)", start=mark)
    service.wait_for(r"AMI connected", start=mark, timeout=30)


def test_a_vip_caller_is_offered_before_a_caller_who_waited_longer(
    agent_phone: DeskPhone, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    mark = service.mark()
    agent_phone.dial_code("*52")
    service.wait_for(r"agent 1001 is paused \(break\)", start=mark)
    normal, vip = new_caller(), "79167777777"  # +7 916 777-77-77 is on the sample's VIP list
    started = datetime.now(UTC).isoformat()
    with ThreadPoolExecutor(3) as pool:
        mark = service.mark()
        waiting = pool.submit(
            run_sipp,
            "carrier_call.xml",
            target,
            "88005553535",
            normal,
            sipp_dir,
            CallScript(keys=((1500, "2"),), hang_up_after_ms=14000),
        )
        service.wait_for(r"caller \S+ waits in support \(priority 0\)", start=mark)
        jumping = pool.submit(
            run_sipp, "carrier_call.xml", target, "88005553535", vip, sipp_dir, CallScript(keys=((1500, "2"),))
        )
        service.wait_for(r"caller \S+ waits in support \(priority 10\)", start=mark)
        answering = pool.submit(agent_phone.answer_one_call)
        agent_phone.dial_code("*53")
        assert jumping.result(timeout=60).ok
        assert answering.result(timeout=60).ok
        assert waiting.result(timeout=60).ok
    first, second = wait_for_record(vip, since=started), wait_for_record(normal)
    assert (first["outcome"], first["agent"]) == ("answered", "1001")
    assert second["queued_at"] < first["queued_at"]  # the VIP came later...
    assert (second["outcome"], second["outcome_reason"]) == ("abandoned", "in_queue")  # ...and went first
