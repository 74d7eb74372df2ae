"""A restart of `callcenter serve` loses nothing: waiting callers come back at their place, and a
conversation going on keeps its agent busy and gets its end recorded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_acd import DeskPhone, agent_phone
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

__all__ = ["agent_phone"]  # the fixture, imported for the tests here


def _restart(service: ServiceProcess) -> None:
    assert service.stop() == 0, service.output[-3000:]
    mark = service.mark()
    service.start()
    service.wait_for(r"AMI connected", start=mark, timeout=30)


def test_callers_waiting_during_a_restart_come_back_in_the_same_order(
    agent_phone: DeskPhone, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    mark = service.mark()
    agent_phone.dial_code("*52")
    service.wait_for(r"agent 1001 is paused \(break\)", start=mark)
    first, second = new_caller(), new_caller()
    with ThreadPoolExecutor(3) as pool:
        mark = service.mark()
        waiting_first = pool.submit(
            run_sipp, "carrier_call.xml", target, "88005553535", first, sipp_dir, CallScript(keys=((1500, "2"),))
        )
        service.wait_for(r"caller \S+ waits in support", start=mark)
        waiting_second = pool.submit(
            run_sipp,
            "carrier_call.xml",
            target,
            "88005553535",
            second,
            sipp_dir,
            CallScript(keys=((1500, "2"),), hang_up_after_ms=25000),
        )
        service.wait_for(r"caller \S+ waits in support", start=service.mark())
        restarted_at = datetime.now(UTC)
        _restart(service)
        mark = service.mark()
        service.wait_for(r"is back in support after a restart", start=mark, timeout=30)
        answering = pool.submit(agent_phone.answer_one_call)
        agent_phone.dial_code("*53")
        assert answering.result(timeout=60).ok
        assert waiting_first.result(timeout=60).ok
        assert waiting_second.result(timeout=60).ok
    assert service.output.count("after a restart") >= 2
    answered, abandoned = wait_for_record(first), wait_for_record(second)
    # The first caller kept the place: offered before the second, after the restart.
    assert (answered["outcome"], answered["agent"]) == ("answered", "1001")
    assert datetime.fromisoformat(answered["queued_at"]) < restarted_at
    assert datetime.fromisoformat(answered["ended_at"]) > restarted_at
    steps = [step["step"] for step in answered["steps"]]
    assert steps.count("queued") == 2 and "connected" in steps, steps
    assert (abandoned["outcome"], abandoned["outcome_reason"]) == ("abandoned", "in_queue")


def test_a_conversation_going_on_during_a_restart_keeps_the_agent_busy_and_its_end_is_recorded(
    agent_phone: DeskPhone, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    caller = new_caller()
    with ThreadPoolExecutor(2) as pool:
        mark = service.mark()
        answering = pool.submit(agent_phone.answer_one_call, "phone_answer_until_bye.xml")
        talking = pool.submit(
            run_sipp,
            "carrier_call.xml",
            target,
            "88005553535",
            caller,
            sipp_dir,
            CallScript(keys=((1500, "2"),), hang_up_after_ms=22000),
        )
        service.wait_for(r"agent 1001 is on_call", start=mark, timeout=30)
        restarted_at = datetime.now(UTC)
        _restart(service)
        mark = service.mark()
        service.wait_for(r"call \S+ with agent 1001 goes on after the restart", start=mark, timeout=20)
        service.wait_for(r"agent 1001 is on_call", start=mark)
        assert talking.result(timeout=60).ok
        assert answering.result(timeout=60).ok
        service.wait_for(r"call \S+ with agent 1001 ended \(resumed after a restart\)", start=mark)
        service.wait_for(r"agent 1001 is wrap_up", start=mark)
    record = wait_for_record(caller)
    assert (record["outcome"], record["agent"], record["queue"]) == ("answered", "1001", "support")
    assert datetime.fromisoformat(record["ended_at"]) > restarted_at
    assert record["steps"][-1]["step"] == "ended"
