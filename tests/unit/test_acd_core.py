"""The ACD routing core, case by case: plain synchronous calls, no event loop, no mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.acd.core import RING_GRACE, Acd, AcdError, AgentProfile, QueueRules
from callcenter.acd.events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentState,
    AgentStateChanged,
    AgentUnpaused,
    CancelOffer,
    Command,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    Offer,
    OfferAnswered,
    OfferFailed,
    Overflow,
    TimerFired,
)
from callcenter.acd.setup import acd_rules
from callcenter.dialplan.loader import load_dialplan

SAMPLE = Path(__file__).resolve().parents[2] / "dialplans"


def offers(commands: list[Command]) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.contact, c.agents) for c in commands if isinstance(c, Offer)]


def states(commands: list[Command]) -> list[tuple[str, AgentState, str]]:
    return [(c.agent, c.state, c.reason) for c in commands if isinstance(c, AgentStateChanged)]


def support(strategy: str = "longest_idle", **rules: object) -> Acd:
    queue = QueueRules("support", strategy=strategy, **rules)  # type: ignore[arg-type]
    agents = [AgentProfile(name, ("support",)) for name in ("a1", "a2", "a3")]
    return Acd([queue], agents)


def logged_in(acd: Acd, *agents: str, at: float = 0.0) -> None:
    for agent in agents:
        acd.handle(AgentLoggedIn(at, agent))


def test_a_call_to_a_queue_with_nobody_logged_in_overflows_at_once() -> None:
    acd = support()
    assert acd.handle(ContactArrived(0, "c1", "support")) == [Overflow("c1", "support", "no_agents")]


def test_the_longest_idle_agent_is_offered_the_call() -> None:
    acd = support()
    logged_in(acd, "a2", at=0)
    logged_in(acd, "a1", at=5)
    assert offers(acd.handle(ContactArrived(10, "c1", "support"))) == [("c1", ("a2",))]
    assert acd.agent_state("a2") is AgentState.RINGING


def test_a_vip_is_offered_before_callers_who_waited_longer() -> None:
    acd = support()
    logged_in(acd, "a1")
    acd.handle(ContactArrived(1, "busy", "support"))
    acd.handle(OfferAnswered(2, "busy", "a1"))
    acd.handle(ContactArrived(3, "early", "support"))
    acd.handle(ContactArrived(4, "vip", "support", priority=10))
    assert acd.position("vip") == 1 and acd.position("early") == 2
    commands = acd.handle(ContactEnded(5, "busy", "a1"))
    assert states(commands) == [("a1", AgentState.WRAP_UP, "")]
    assert offers(acd.handle(TimerFired(15))) == [("vip", ("a1",))]


def test_wrap_up_keeps_the_agent_from_every_queue_until_it_ends() -> None:
    acd = Acd(
        [QueueRules("support", wrap_up=30), QueueRules("sales", wrap_up=5)],
        [AgentProfile("a1", ("support", "sales"))],
    )
    logged_in(acd, "a1")
    acd.handle(ContactArrived(0, "c1", "support"))
    acd.handle(OfferAnswered(1, "c1", "a1"))
    acd.handle(ContactEnded(10, "c1", "a1"))
    assert offers(acd.handle(ContactArrived(11, "c2", "sales"))) == []
    assert acd.next_deadline() == 40
    assert offers(acd.handle(TimerFired(39.9))) == []
    assert offers(acd.handle(TimerFired(40))) == [("c2", ("a1",))]


def test_ring_no_answer_puts_the_call_back_at_the_head_and_tries_another_agent() -> None:
    acd = support()
    logged_in(acd, "a1", at=0)
    logged_in(acd, "a2", at=1)
    acd.handle(ContactArrived(2, "c1", "support"))
    commands = acd.handle(OfferFailed(20, "c1", "a1", "no_answer"))
    assert offers(commands) == [("c1", ("a2",))]
    assert acd.agent_state("a1") is AgentState.AVAILABLE


def test_an_agent_missing_n_offers_in_a_row_is_paused_with_reason_no_answer() -> None:
    queue = QueueRules("support")
    acd = Acd([queue], [AgentProfile("a1", ("support",), no_answer_limit=2)])
    logged_in(acd, "a1")
    acd.handle(ContactArrived(1, "c1", "support"))
    acd.handle(OfferFailed(16, "c1", "a1", "no_answer"))  # offered again: nobody else
    commands = acd.handle(OfferFailed(31, "c1", "a1", "no_answer"))
    assert ("a1", AgentState.PAUSED, "no_answer") in states(commands)
    assert acd.waiting("support") == 1 and acd.position("c1") == 1


def test_an_unreachable_phone_pauses_its_agent_at_once() -> None:
    acd = support()
    logged_in(acd, "a1")
    acd.handle(ContactArrived(1, "c1", "support"))
    assert ("a1", AgentState.PAUSED, "unreachable") in states(acd.handle(OfferFailed(2, "c1", "a1", "unreachable")))


def test_a_ring_the_shell_never_reports_counts_as_no_answer() -> None:
    acd = support(ring_timeout=15.0)
    logged_in(acd, "a1", at=0)
    logged_in(acd, "a2", at=1)
    acd.handle(ContactArrived(2, "c1", "support"))
    assert acd.next_deadline() == 2 + 15 + RING_GRACE
    assert offers(acd.handle(TimerFired(2 + 15 + RING_GRACE))) == [("c1", ("a2",))]


def test_ring_all_rings_everyone_and_the_first_answer_wins() -> None:
    acd = support("ring_all")
    logged_in(acd, "a1", "a2", "a3")
    assert offers(acd.handle(ContactArrived(1, "c1", "support"))) == [("c1", ("a1", "a2", "a3"))]
    commands = acd.handle(OfferAnswered(2, "c1", "a2"))
    assert [c for c in commands if isinstance(c, CancelOffer)] == [CancelOffer("c1", "a1"), CancelOffer("c1", "a3")]
    assert acd.agent_state("a1") is AgentState.AVAILABLE and acd.agent_state("a2") is AgentState.ON_CALL
    # A late answer from a phone that was told to stop ringing is hung up, not connected.
    assert acd.handle(OfferAnswered(3, "c1", "a3")) == [CancelOffer("c1", "a3")]


def test_ring_all_one_agent_missing_does_not_restart_the_round_for_the_others() -> None:
    acd = support("ring_all")
    logged_in(acd, "a1", "a2")
    acd.handle(ContactArrived(1, "c1", "support"))
    commands = acd.handle(OfferFailed(2, "c1", "a1", "busy"))
    assert offers(commands) == []  # a2 still rings
    assert acd.agent_state("a2") is AgentState.RINGING


def test_a_caller_hanging_up_while_an_agent_rings_stops_the_ring_and_frees_the_agent() -> None:
    acd = support()
    logged_in(acd, "a1")
    acd.handle(ContactArrived(1, "c1", "support"))
    commands = acd.handle(ContactAbandoned(3, "c1"))
    assert CancelOffer("c1", "a1") in commands and acd.agent_state("a1") is AgentState.AVAILABLE
    assert acd.waiting("support") == 0


def test_max_wait_overflows_the_caller() -> None:
    acd = support(max_wait=60.0)
    logged_in(acd, "a1")
    acd.handle(ContactArrived(0, "busy", "support"))
    acd.handle(OfferAnswered(1, "busy", "a1"))
    acd.handle(ContactArrived(5, "c1", "support"))
    assert acd.handle(TimerFired(65)) == [Overflow("c1", "support", "max_wait")]
    assert acd.waiting("support") == 0


def test_a_full_queue_overflows_new_callers() -> None:
    acd = support(max_length=1)
    logged_in(acd, "a1")
    acd.handle(AgentPaused(1, "a1", "lunch"))
    acd.handle(ContactArrived(2, "c1", "support"))
    assert acd.handle(ContactArrived(3, "c2", "support")) == [Overflow("c2", "support", "max_length")]


def test_the_best_skilled_agent_is_offered_first_and_the_unskilled_never_before_relaxation() -> None:
    queue = QueueRules("billing", skills={"billing": 2}, relax_after=30.0)
    agents = [
        AgentProfile("novice", ("billing",), {"billing": 1}),
        AgentProfile("good", ("billing",), {"billing": 2}),
        AgentProfile("expert", ("billing",), {"billing": 5}),
    ]
    acd = Acd([queue], agents)
    logged_in(acd, "novice", "good", "expert")
    assert offers(acd.handle(ContactArrived(1, "c1", "billing"))) == [("c1", ("expert",))]
    assert offers(acd.handle(ContactArrived(2, "c2", "billing"))) == [("c2", ("good",))]
    assert offers(acd.handle(ContactArrived(3, "c3", "billing"))) == []  # the novice does not qualify yet
    acd.handle(OfferAnswered(4, "c1", "expert"))
    acd.handle(OfferAnswered(5, "c2", "good"))
    assert acd.next_deadline() == 33
    assert offers(acd.handle(TimerFired(33))) == [("c3", ("novice",))]


def test_pausing_during_a_call_applies_after_it_and_keeps_the_reason() -> None:
    acd = support(wrap_up=0.0)
    logged_in(acd, "a1")
    acd.handle(ContactArrived(1, "c1", "support"))
    acd.handle(OfferAnswered(2, "c1", "a1"))
    assert acd.handle(AgentPaused(3, "a1", "training")) == []
    assert states(acd.handle(ContactEnded(9, "c1", "a1"))) == [("a1", AgentState.PAUSED, "training")]
    assert states(acd.handle(AgentUnpaused(20, "a1"))) == [("a1", AgentState.AVAILABLE, "")]


def test_logging_out_while_ringing_gives_the_call_to_another_agent() -> None:
    acd = support()
    logged_in(acd, "a1", at=0)
    logged_in(acd, "a2", at=1)
    acd.handle(ContactArrived(2, "c1", "support"))
    commands = acd.handle(AgentLoggedOut(3, "a1"))
    assert CancelOffer("c1", "a1") in commands and offers(commands) == [("c1", ("a2",))]


def test_round_robin_remembers_who_had_the_last_call() -> None:
    acd = support("round_robin", wrap_up=0.0)
    logged_in(acd, "a1", "a2", "a3")
    answered = []
    for number in range(6):
        [(contact, (agent,))] = offers(acd.handle(ContactArrived(number * 10, f"c{number}", "support")))
        acd.handle(OfferAnswered(number * 10 + 1, contact, agent))
        acd.handle(ContactEnded(number * 10 + 2, contact, agent))
        answered.append(agent)
    assert answered == ["a1", "a2", "a3", "a1", "a2", "a3"]


def test_events_naming_unknown_agents_or_queues_are_errors() -> None:
    acd = support()
    with pytest.raises(AcdError):
        acd.handle(AgentLoggedIn(0, "ghost"))
    with pytest.raises(AcdError):
        acd.handle(ContactArrived(0, "c1", "nowhere"))


def test_the_rules_come_from_the_sample_dialplan() -> None:
    queues, agents = acd_rules(load_dialplan(SAMPLE))
    assert {queue.name: queue.strategy for queue in queues} == {
        "support": "longest_idle",
        "orders": "fewest_calls",
        "sales": "round_robin",
    }
    acd = Acd(queues, agents)
    acd.handle(AgentLoggedIn(0, "1001"))
    # Anna (1001) has orders at level 2: she qualifies for the orders queue.
    assert offers(acd.handle(ContactArrived(1, "c1", "orders"))) == [("c1", ("1001",))]
