"""Transfers by the agent end to end: agent 1001's SIPp desk phone answers a queued caller and transfers
with the keypad (RFC 4733 events), blind (## and the target) or attended (*2, the target, then hangs up);
agent 1003's phone takes the call. The call's record follows: one linkedid, a TRANSFERRED step, the
outcome and destination, and the target queue's own steps."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.conftest import ServiceProcess, wait_for_record
from tests.e2e.dtmf import write_dtmf_pcap
from tests.e2e.sipp import SCENARIOS, CallScript, SippResult, run_sipp
from tests.e2e.test_acd import DeskPhone, agent_phone
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

__all__ = ["agent_phone"]  # the fixture, imported for the tests here

_KEY_GAP_MS = 250  # between two keys: well within the feature digit timeout


@pytest.fixture
def target_phone(stack: Stack, settings: Settings, service: ServiceProcess, tmp_path: Path) -> DeskPhone:
    """Agent 1003's desk phone, registered (not logged in to the ACD: a transfer to an extension rings it)."""
    work_dir = tmp_path / "1003"
    work_dir.mkdir()
    phone = DeskPhone(settings, "1003", stack.secrets.phone_passwords["1003"], work_dir)
    phone.register()
    return phone


@pytest.fixture
def target_agent(target_phone: DeskPhone, service: ServiceProcess) -> Iterator[DeskPhone]:
    """Agent 1003 logged in (sales, orders): a transfer to the sales queue is offered to them."""
    mark = service.mark()
    target_phone.dial_code("*50")
    service.wait_for(r"agent 1003 is available", start=mark)
    yield target_phone
    mark = service.mark()
    target_phone.dial_code("*51")
    service.wait_for(r"agent 1003 is logged_out", start=mark, timeout=40)


def _transferring(phone: DeskPhone, scenario: str, keys: str, hang_up_after_ms: int = 0) -> SippResult:
    """The agent's phone answers the offer and types ``keys`` a second later (then hangs up, attended)."""
    pcap = phone.work_dir / f"transfer-{phone.extension}.pcap"
    write_dtmf_pcap(pcap, [(0 if index == 0 else _KEY_GAP_MS, key) for index, key in enumerate(keys)])
    text = (SCENARIOS / scenario).read_text()
    text = text.replace("[dtmf_pcap]", str(pcap)).replace("[dtmf_after_ms]", "1000")
    text = text.replace("[hang_up_after_ms]", str(hang_up_after_ms))
    rendered = phone.work_dir / scenario
    rendered.write_text(text)
    return phone.answer_one_call(str(rendered))


def _steps(caller: str, until: str, count: int = 1, timeout: float = 15) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The call's record and its steps, once ``count`` steps of kind ``until`` are written and the record
    says transferred (a transfer AMI reports after the session wrote its record amends it moments later)."""
    deadline = time.monotonic() + timeout
    while True:
        record = wait_for_record(caller)
        steps: list[dict[str, Any]] = record["steps"]
        settled = sum(step["step"] == until for step in steps) >= count and record["outcome"] == "transferred"
        if settled or time.monotonic() > deadline:
            return record, steps
        time.sleep(0.3)


def test_a_blind_transfer_to_an_agent_rings_their_phone_and_the_record_says_where_the_call_went(
    agent_phone: DeskPhone,
    target_phone: DeskPhone,
    service: ServiceProcess,
    target: tuple[str, int],
    sipp_dir: Path,
) -> None:
    caller = new_caller()
    mark = service.mark()
    with ThreadPoolExecutor(3) as pool:
        taking = pool.submit(target_phone.answer_one_call)  # answers, talks three seconds, hangs up
        transferring = pool.submit(_transferring, agent_phone, "phone_answer_blind_transfer.xml", "##1003")
        call = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(keys=((1500, "2"),)))
        transferred, taken = transferring.result(timeout=70), taking.result(timeout=70)
    assert call.ok, call.output
    assert transferred.ok, transferred.output
    assert taken.ok, taken.output
    # 1003's phone rang with the caller's number: the caller's own leg, transferred.
    invite = taken.messages[taken.messages.index("INVITE sip:") :]
    assert f"sip:+{caller}@" in invite[:600] or f"sip:{caller}@" in invite[:600], invite[:800]

    record, steps = _steps(caller, "transferred")
    assert (record["outcome"], record["outcome_reason"], record["destination"]) == (
        "transferred",
        "blind",
        "agent:1003",
    )
    assert (record["queue"], record["agent"]) == ("support", "1001")
    kinds = [step["step"] for step in steps]
    assert kinds[:3] == ["queued", "offered", "connected"], steps
    moved = next(step for step in steps if step["step"] == "transferred")
    assert (moved["agent"], moved["detail"]) == ("1001", "blind:agent:1003")
    ended = [step for step in steps if step["step"] == "ended"]
    assert [step["agent"] for step in ended] == ["1001"], steps  # 1001's talk, counted once
    service.wait_for(r"agent 1001 is wrap_up", start=mark)  # the transferring agent wraps up


def test_a_blind_transfer_to_a_queue_waits_there_and_its_steps_hang_off_the_same_call(
    agent_phone: DeskPhone,
    target_agent: DeskPhone,
    service: ServiceProcess,
    target: tuple[str, int],
    sipp_dir: Path,
) -> None:
    caller = new_caller()
    with ThreadPoolExecutor(3) as pool:
        taking = pool.submit(target_agent.answer_one_call)
        # *7 and sales' transfer_code 3; '#' ends the target at once.
        transferring = pool.submit(_transferring, agent_phone, "phone_answer_blind_transfer.xml", "##*73#")
        call = run_sipp("carrier_call.xml", target, "88005553535", caller, sipp_dir, CallScript(keys=((1500, "2"),)))
        transferred, taken = transferring.result(timeout=70), taking.result(timeout=70)
    assert call.ok, call.output
    assert transferred.ok, transferred.output
    assert taken.ok, taken.output
    invite = taken.messages[taken.messages.index("INVITE sip:") :]
    assert "X-CC-Queue: sales" in invite, invite[:800]

    record, steps = _steps(caller, "ended", count=2)
    assert (record["outcome"], record["destination"], record["agent"]) == ("transferred", "queue:sales", "1001")
    # (Holds are left out: the caller is held while the agent types the target, calls/holds.py's business.)
    summary = [(step["step"], step["queue"], step["agent"]) for step in steps if step["step"] != "hold"]
    assert summary == [
        ("queued", "support", ""),
        ("offered", "support", "1001"),
        ("connected", "support", "1001"),
        ("transferred", "support", "1001"),
        ("ended", "support", "1001"),
        ("queued", "sales", ""),
        ("offered", "sales", "1003"),
        ("connected", "sales", "1003"),
        ("ended", "sales", "1003"),
    ], summary
    assert next(step for step in steps if step["step"] == "transferred")["detail"] == "blind:queue:sales"
    assert record["ended_at"] >= steps[-1]["at"]  # the call ended with its last part


def test_an_attended_transfer_to_an_agent_hands_the_caller_over_when_the_first_agent_hangs_up(
    agent_phone: DeskPhone,
    target_phone: DeskPhone,
    service: ServiceProcess,
    target: tuple[str, int],
    sipp_dir: Path,
) -> None:
    caller = new_caller()
    with ThreadPoolExecutor(3) as pool:
        # 1003 answers the consultation and stays until the caller hangs up.
        taking = pool.submit(target_phone.answer_one_call, "phone_answer_until_bye.xml")
        # *2 and 1003; 1001 talks to 1003 for a few seconds, then hangs up: the caller is handed over.
        transferring = pool.submit(
            _transferring, agent_phone, "phone_answer_attended_transfer.xml", "*21003", hang_up_after_ms=6000
        )
        call = run_sipp(
            "carrier_call.xml",
            target,
            "88005553535",
            caller,
            sipp_dir,
            CallScript(keys=((1500, "2"),), hang_up_after_ms=20000),
        )
        transferred, taken = transferring.result(timeout=70), taking.result(timeout=70)
    assert call.ok, call.output
    assert transferred.ok, transferred.output
    assert taken.ok, taken.output

    record, steps = _steps(caller, "transferred")
    assert (record["outcome"], record["outcome_reason"], record["destination"]) == (
        "transferred",
        "attended",
        "agent:1003",
    )
    moved = next(step for step in steps if step["step"] == "transferred")
    assert (moved["agent"], moved["detail"]) == ("1001", "attended:agent:1003")
    assert [step["agent"] for step in steps if step["step"] == "ended"] == ["1001"], steps
    # The caller stayed on the line with 1003 after the hand-over: the call ended when the caller hung up.
    assert record["ended_at"] > moved["at"]
