"""ACD routing end to end: a phone nobody picks up, a queue's max wait, skills before the strategy, the end of a call.

Agents work SIPp desk phones (digest registration, feature codes) and callers come from the carrier
trunk. The sales queue and agent 1002 have short timers in the test copy of the dialplan
(``SALES_QUEUE_TIMERS``, ``NO_ANSWER_LIMIT_1002`` in conftest.py). Every agent a test logs in is logged
out after it: the other tests expect queues with nobody logged in.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest

from callcenter.config import Settings
from callcenter.stack import Stack
from tests.e2e.conftest import NO_ANSWER_LIMIT_1002, SALES_QUEUE_TIMERS, ServiceProcess, wait_for_record
from tests.e2e.sipp import CallScript, SippResult, run_sipp
from tests.e2e.test_acd import DeskPhone
from tests.e2e.test_inbound_ivr import new_caller

pytestmark = pytest.mark.e2e

SUPPORT = "88005553535"  # key 2: queue support (longest_idle, skill support 1)
SALES = "88005553536"  # key 1: queue sales (round_robin, skill sales 1)
RING_TIMEOUT = SALES_QUEUE_TIMERS["ring_timeout"]
MAX_WAIT = SALES_QUEUE_TIMERS["max_wait"]


class Desk(DeskPhone):
    def answer(self, timeout_s: int) -> SippResult:
        """Take one offered call (rings a second, talks three, hangs up); without an offer, time out."""
        return self._run("phone_answer.xml", "answer", timeout_s=timeout_s)

    def ring_unanswered(self, timeout_s: int) -> SippResult:
        """Ring for one offered call until the call center gives up (CANCEL)."""
        return self._run("phone_ring_no_answer.xml", "ring", timeout_s=timeout_s)


class Agents:
    """The agents' desk phones of one test. Whoever logged in is logged out after it, so the queues are as
    the other tests expect them (nobody logged in: a queued caller overflows at once)."""

    def __init__(self, stack: Stack, settings: Settings, service: ServiceProcess, work_dir: Path) -> None:
        self._stack = stack
        self._settings = settings
        self._service = service
        self._work_dir = work_dir
        self._logged_in: dict[str, Desk] = {}

    def phone(self, extension: str) -> Desk:
        work_dir = self._work_dir / extension
        work_dir.mkdir()
        phone = Desk(self._settings, extension, self._stack.secrets.phone_passwords[extension], work_dir)
        phone.register()
        return phone

    def log_in(self, phone: Desk) -> None:
        mark = self._service.mark()
        phone.dial_code("*50")
        self._logged_in[phone.extension] = phone
        self._service.wait_for(rf"agent {phone.extension} is available$", start=mark)

    def pause(self, phone: Desk) -> None:
        mark = self._service.mark()
        phone.dial_code("*52")
        self._service.wait_for(rf"agent {phone.extension} is paused \(break\)$", start=mark)

    def log_out_all(self) -> None:
        failures = []
        for extension, phone in self._logged_in.items():
            mark = self._service.mark()
            states = re.findall(rf"agent {extension} is (\w+)", self._service.output)
            if states and states[-1] == "logged_out":
                continue
            try:
                phone.dial_code("*51")
                # After a call, the log-out waits for the end of the wrap-up.
                self._service.wait_for(rf"agent {extension} is logged_out$", start=mark, timeout=30)
            except AssertionError as error:  # the others are logged out all the same
                failures.append(f"agent {extension} not logged out: {error}")
        assert not failures, "\n".join(failures)


@pytest.fixture
def agents(stack: Stack, settings: Settings, service: ServiceProcess, tmp_path: Path) -> Iterator[Agents]:
    desks = Agents(stack, settings, service, tmp_path)
    yield desks
    desks.log_out_all()


def place_call(
    target: tuple[str, int], number: str, caller: str, work_dir: Path, key: str, hang_up_after_ms: int | None = None
) -> SippResult:
    """A carrier call that presses ``key`` in the line's menu, then waits for the end or hangs up."""
    script = CallScript(keys=((1500, key),), hang_up_after_ms=hang_up_after_ms)
    return run_sipp("carrier_call.xml", target, number, caller, work_dir, script, timeout_s=60)


def contact_of(service: ServiceProcess, caller: str, start: int) -> str:
    """The ACD's name for the call from ``caller`` (its linkedid), from the service's log."""
    line = service.wait_for(rf"call \S+ to \S+ \(.*\) from \+{caller}$", start=start)
    found = re.search(r"call (\S+) to ", line)
    assert found is not None, line
    return re.escape(found.group(1))


def log_index(service: ServiceProcess, pattern: str, start: int) -> int:
    lines = service.output.splitlines()
    return next(i for i in range(start, len(lines)) if re.search(pattern, lines[i]))


def seconds_between(earlier: str, later: str) -> float:
    return (datetime.fromisoformat(later) - datetime.fromisoformat(earlier)).total_seconds()


def asterisk_log_since(settings: Settings, offset: int) -> str:
    with (settings.asterisk_state_dir / "log" / "full").open(errors="replace") as log:
        log.seek(offset)
        return log.read()


def test_an_offer_nobody_answers_pauses_the_agent_and_the_caller_keeps_the_head_of_the_line(
    agents: Agents, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    silent = agents.phone("1002")  # no_answer_limit 1 in the test dialplan
    answering = agents.phone("1003")
    agents.log_in(silent)
    first, second = new_caller(), new_caller()
    mark = service.mark()
    with ThreadPoolExecutor(4) as pool:
        ringing = pool.submit(silent.ring_unanswered, 30)
        first_call = pool.submit(place_call, target, SALES, first, sipp_dir, "1")
        first_id = contact_of(service, first, mark)
        service.wait_for(rf"offering {first_id} from sales to 1002$", start=mark)
        offered_at = time.monotonic()
        # A second caller queues behind the first while 1002's phone rings. It hangs up about 9 s after it
        # queued: after the first caller is connected (about 5 s), before its own first announcement (10 s).
        second_call = pool.submit(place_call, target, SALES, second, sipp_dir, "1", hang_up_after_ms=11000)
        second_id = contact_of(service, second, mark)
        service.wait_for(rf"caller {second_id} waits in sales", start=mark)
        service.wait_for(r"agent 1002 is paused \(no_answer\)$", start=mark, timeout=RING_TIMEOUT + 10)
        rang = time.monotonic() - offered_at
        ringing_result = ringing.result(timeout=30)
        assert ringing_result.ok, ringing_result.output  # rang (180), then the call center gave up (CANCEL)
        # Both callers wait and nobody is free. 1003 logs in: the first caller's failed offer kept its place.
        answered = pool.submit(answering.answer, 30)
        agents.log_in(answering)
        service.wait_for(rf"offering {first_id} from sales to 1003$", start=mark)
        service.wait_for(r"agent 1003 is on_call$", start=mark)
        answering.dial_code("*51")  # after this call and its wrap-up: the second caller is nobody's
        assert answered.result(timeout=30).ok, answered.result().output
        assert first_call.result(timeout=30).ok, first_call.result().output
        assert second_call.result(timeout=30).ok, second_call.result().output

    assert RING_TIMEOUT - 1 <= rang <= RING_TIMEOUT + 3, f"1002 was paused {rang:.1f} s after the offer"
    assert "SIP/2.0 180 Ringing" in ringing_result.messages
    # Paused after as many missed offers as its no_answer_limit; the second caller was waiting by then.
    since_mark = "\n".join(service.output.splitlines()[mark:])
    offers_to_1002 = re.findall(r"offering \S+ from \S+ to 1002$", since_mark, re.MULTILINE)
    assert len(offers_to_1002) == NO_ANSWER_LIMIT_1002, offers_to_1002
    assert log_index(service, rf"caller {second_id} waits in sales", mark) < log_index(
        service, r"agent 1002 is paused \(no_answer\)$", mark
    ), "the second caller must have been waiting before the first one's offer failed"
    assert not re.search(rf"offering {second_id} ", service.output)

    head, behind = wait_for_record(first), wait_for_record(second)
    assert (head["outcome"], head["queue"], head["agent"]) == ("answered", "sales", "1003")
    assert head["queued_at"] < behind["queued_at"] < head["connected_at"] < behind["ended_at"]
    assert (behind["outcome"], behind["outcome_reason"], behind["queue"]) == ("abandoned", "in_queue", "sales")
    assert not behind["agent"]


def test_a_caller_in_a_staffed_queue_whose_agents_are_all_paused_overflows_at_max_wait(
    agents: Agents, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    busy = agents.phone("1003")
    agents.log_in(busy)
    agents.pause(busy)  # logged in, so no overflow for want of agents: the caller waits
    caller = new_caller()
    mark = service.mark()
    # The caller queues about 2 s after the key and hangs up about 3 s after its max wait. The first position
    # announcement ("you are next", the estimated wait: about 9.5 s in Russian) starts 10 s after it queued:
    # max_wait comes in the middle of it, and must not wait for its end.
    result = place_call(target, SALES, caller, sipp_dir, "1", hang_up_after_ms=(MAX_WAIT + 5) * 1000)
    assert result.ok, result.output
    contact = contact_of(service, caller, mark)
    assert not re.search(rf"offering {contact} ", service.output)

    record = wait_for_record(caller)
    waited = seconds_between(record["queued_at"], record["ended_at"])
    assert (record["outcome"], record["outcome_reason"], record["queue"], record["destination"]) == (
        "voicemail",
        "overflow_max_wait",
        "sales",
        "voicemail:sales",
    ), f"after {waited:.1f} s in a queue with a max_wait of {MAX_WAIT} s"
    service.wait_for(rf"caller {contact} overflows from sales \(max_wait\)$", start=mark)
    assert not record["agent"] and record["connected_at"] is None
    assert MAX_WAIT - 0.5 <= waited <= MAX_WAIT + 2.5, f"waited {waited:.1f} s for a max_wait of {MAX_WAIT} s"


def test_the_better_skilled_agent_gets_the_call_though_the_other_has_been_idle_longer(
    agents: Agents, service: ServiceProcess, target: tuple[str, int], sipp_dir: Path
) -> None:
    # Support is longest_idle and asks for support 1; 1002 has support 1, 1001 has support 3.
    novice, expert = agents.phone("1002"), agents.phone("1001")
    agents.log_in(novice)  # idle longer: the strategy alone would pick 1002
    agents.log_in(expert)
    caller = new_caller()
    mark = service.mark()
    with ThreadPoolExecutor(2) as pool:
        passed_over = pool.submit(novice.answer, 15)  # would answer an offer, so a wrong pick shows in the record
        answered = pool.submit(expert.answer, 30)
        result = place_call(target, SUPPORT, caller, sipp_dir, "2")
        assert result.ok, result.output
        assert answered.result(timeout=30).ok, answered.result().output
        assert "INVITE sip:" not in passed_over.result(timeout=30).messages
    contact = contact_of(service, caller, mark)
    service.wait_for(rf"offering {contact} from support to 1001$", start=mark)

    record = wait_for_record(caller)
    assert (record["outcome"], record["queue"], record["agent"]) == ("answered", "support", "1001")


def test_when_the_agent_hangs_up_the_caller_is_released_without_the_service_down_prompt(
    agents: Agents, service: ServiceProcess, settings: Settings, target: tuple[str, int], sipp_dir: Path
) -> None:
    agent = agents.phone("1003")
    agents.log_in(agent)
    caller = new_caller()
    log_start = (settings.asterisk_state_dir / "log" / "full").stat().st_size
    with ThreadPoolExecutor(1) as pool:
        answered = pool.submit(agent.answer, 30)  # talks 3 s, then the agent hangs up
        result = place_call(target, SALES, caller, sipp_dir, "1")  # waits for the call center's BYE
        assert answered.result(timeout=30).ok, answered.result().output
    assert result.ok, result.output
    record = wait_for_record(caller)
    assert (record["outcome"], record["agent"]) == ("answered", "1003")
    heard = asterisk_log_since(settings, log_start)
    assert "fallback for" not in heard and "ss-noservice" not in heard
