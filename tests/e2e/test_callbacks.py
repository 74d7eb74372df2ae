"""Callbacks end to end: a waiting caller presses the queue's callback key, hangs up, and is called back
(the agent's phone first, then the caller through the carrier) when an agent is free."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from callcenter.config import Settings
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, run_sipp
from tests.e2e.test_acd import DeskPhone, agent_phone
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

__all__ = ["agent_phone"]  # the fixture, imported for the tests here


def test_a_caller_asking_for_a_callback_is_called_back_when_the_agent_is_free(
    agent_phone: DeskPhone,
    service: ServiceProcess,
    settings: Settings,
    target: tuple[str, int],
    sipp_dir: Path,
    tmp_path: Path,
) -> None:
    mark = service.mark()
    agent_phone.dial_code("*52")
    service.wait_for(r"agent 1001 is paused \(break\)", start=mark)
    caller = new_caller()
    # Key 2: the support queue; six seconds into the music, key 1: "call me back". The call center
    # confirms and hangs up.
    asked = run_sipp(
        "carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(keys=((1500, "2"), (6000, "1")))
    )
    assert asked.ok, asked.output
    service.wait_for(rf"asked for a callback to \+{caller}", start=mark)
    record = wait_for_record(caller)
    assert (record["outcome"], record["outcome_reason"], record["queue"]) == (
        "callback",
        "callback_requested",
        "support",
    )

    carrier_dir = tmp_path / "customer"
    carrier_dir.mkdir()
    with ThreadPoolExecutor(2) as pool:
        customer = pool.submit(
            run_sipp,
            "carrier_uas_answer.xml",
            target,
            "uas",
            "customer",
            carrier_dir,
            None,
            "127.0.0.2",
            60,
            ("-p", "5060"),
        )
        agent = pool.submit(agent_phone.answer_one_call, "phone_answer_until_bye.xml")
        mark = service.mark()
        agent_phone.dial_code("*53")
        service.wait_for(r"callback \S+: calling agent 1001 first", start=mark, timeout=20)
        agent_leg, customer_leg = agent.result(timeout=70), customer.result(timeout=70)
    assert agent_leg.ok, agent_leg.output
    assert customer_leg.ok, customer_leg.output
    # The agent's phone showed it was a callback, with the caller's number; the caller was dialled
    # through the carrier, from the toll-free line's number.
    agent_invite = agent_leg.messages[agent_leg.messages.index("INVITE sip:") :]
    assert re.search(rf'From: "Callback support" <sip:\+{caller}@', agent_invite), agent_invite[:800]
    customer_invite = customer_leg.messages[customer_leg.messages.index("INVITE sip:") :]
    assert f"INVITE sip:+{caller}@127.0.0.2:5060" in customer_invite
    assert re.search(r"From: [^\n]*<sip:\+78005553535@", customer_invite), customer_invite[:800]

    # The callback's steps hang off the original call.
    deadline = time.monotonic() + 10
    while True:  # the steps are written moments after the call
        found = wait_for_record(caller)["steps"]
        steps = [step["step"] for step in found]
        if "ended" in steps or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert steps[:2] == ["queued", "callback_requested"], found
    dialled = next(step for step in found if step["step"] == "callback_dialled")
    assert (dialled["agent"], dialled["result"]) == ("1001", "answered")
    assert "callback_dialled" in steps and steps[-1] == "ended"
