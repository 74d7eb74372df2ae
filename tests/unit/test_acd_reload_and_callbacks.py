"""The ACD core across a dialplan reload, contacts that keep an earlier place (callbacks, restarts), resumed calls."""

from __future__ import annotations

import pytest

from callcenter.acd.core import Acd, AcdError
from callcenter.acd.events import (
    AgentLoggedIn,
    AgentPaused,
    AgentProfile,
    AgentState,
    AgentStateChanged,
    AgentUnpaused,
    CallResumed,
    CancelOffer,
    Command,
    ContactAbandoned,
    ContactArrived,
    ContactEnded,
    ContactKind,
    Offer,
    OfferAnswered,
    Overflow,
    QueueRules,
    RulesChanged,
    TimerFired,
)


def offers(commands: list[Command]) -> list[tuple[str, tuple[str, ...]]]:
    return [(c.contact, c.agents) for c in commands if isinstance(c, Offer)]


def states(commands: list[Command]) -> list[tuple[str, AgentState, str]]:
    return [(c.agent, c.state, c.reason) for c in commands if isinstance(c, AgentStateChanged)]


QUEUES = (QueueRules("support", max_wait=60.0), QueueRules("sales", max_wait=60.0))
AGENTS = (AgentProfile("a1", ("support",)), AgentProfile("a2", ("support", "sales")))


def reloaded(at: float, queues: tuple[QueueRules, ...], agents: tuple[AgentProfile, ...]) -> RulesChanged:
    return RulesChanged(at, queues, agents)


def busy_center() -> Acd:
    """Both agents logged in and paused, so contacts wait."""
    acd = Acd(QUEUES, AGENTS)
    for agent in ("a1", "a2"):
        acd.handle(AgentLoggedIn(0, agent))
        acd.handle(AgentPaused(0, agent, "lunch"))
    return acd


# --- callbacks and places kept -------------------------------------------------------------------------


def test_a_callback_keeps_the_place_of_the_call_it_replaces() -> None:
    acd = busy_center()
    acd.handle(ContactArrived(10, "first", "support"))
    acd.handle(ContactArrived(20, "second", "support"))
    # The first caller presses the callback key at 30 and hangs up: the callback waits where the call was.
    acd.handle(ContactAbandoned(30, "first"))
    acd.handle(ContactArrived(30, "first-cb", "support", since=10, kind=ContactKind.CALLBACK))
    assert acd.position("first-cb") == 1
    assert acd.position("second") == 2
    assert offers(acd.handle(AgentUnpaused(40, "a1"))) == [("first-cb", ("a1",))]


def test_a_callback_never_overflows_and_waits_even_with_nobody_logged_in() -> None:
    acd = Acd(QUEUES, AGENTS)
    out = acd.handle(ContactArrived(0, "cb", "support", kind=ContactKind.CALLBACK))
    assert out == []
    assert acd.handle(TimerFired(10_000)) == []
    assert acd.position("cb") == 1
    out = acd.handle(AgentLoggedIn(10_001, "a1"))
    assert offers(out) == [("cb", ("a1",))]


def test_a_call_taken_back_after_a_restart_keeps_its_place_and_its_max_wait() -> None:
    acd = busy_center()
    acd.handle(ContactArrived(100, "new", "support"))
    acd.handle(ContactArrived(101, "old", "support", since=50))  # waited since 50 before the restart
    assert acd.position("old") == 1
    out = acd.handle(TimerFired(110))  # 50 + max wait 60
    assert Overflow("old", "support", "max_wait") in out
    assert acd.position("new") == 1


def test_a_place_is_never_later_than_the_arrival() -> None:
    acd = busy_center()
    acd.handle(ContactArrived(10, "a", "support"))
    acd.handle(ContactArrived(20, "b", "support", since=99))  # a since in the future counts as now
    assert (acd.position("a"), acd.position("b")) == (1, 2)


# --- reload ----------------------------------------------------------------------------------------------


def test_after_a_reload_agents_keep_their_state_and_contacts_their_place() -> None:
    acd = busy_center()
    acd.handle(ContactArrived(10, "c1", "support"))
    acd.handle(ContactArrived(11, "c2", "support"))
    out = acd.handle(reloaded(20, QUEUES, AGENTS))
    assert offers(out) == [] and states(out) == []
    assert acd.agent_state("a1") is AgentState.PAUSED
    assert (acd.position("c1"), acd.position("c2")) == (1, 2)


def test_a_reload_that_adds_an_agent_to_a_queue_lets_a_waiting_call_reach_them() -> None:
    acd = Acd(QUEUES, AGENTS)
    acd.handle(AgentLoggedIn(0, "a2"))
    acd.handle(AgentPaused(0, "a2", "lunch"))
    acd.handle(AgentLoggedIn(0, "a1"))
    acd.handle(ContactArrived(5, "sale", "sales"))  # only a2 (paused) serves sales
    assert acd.position("sale") == 1
    out = acd.handle(reloaded(10, QUEUES, (AgentProfile("a1", ("support", "sales")), AGENTS[1])))
    assert offers(out) == [("sale", ("a1",))]


def test_a_reload_applies_the_new_max_wait_counted_from_arrival() -> None:
    acd = busy_center()
    acd.handle(ContactArrived(0, "c1", "support"))
    longer = (QueueRules("support", max_wait=300.0), QUEUES[1])
    acd.handle(reloaded(10, longer, AGENTS))
    assert acd.handle(TimerFired(61)) == []  # the old 60 s no longer applies
    assert Overflow("c1", "support", "max_wait") in acd.handle(TimerFired(300))


def test_a_removed_queue_overflows_its_waiting_and_ringing_contacts() -> None:
    acd = Acd(QUEUES, AGENTS)
    acd.handle(AgentLoggedIn(0, "a2"))
    ringing = acd.handle(ContactArrived(1, "s1", "sales"))
    assert offers(ringing) == [("s1", ("a2",))]
    acd.handle(ContactArrived(2, "s2", "sales"))
    out = acd.handle(reloaded(3, QUEUES[:1], (AGENTS[0], AgentProfile("a2", ("support",)))))
    assert CancelOffer("s1", "a2") in out
    assert Overflow("s1", "sales", "queue_removed") in out
    assert Overflow("s2", "sales", "queue_removed") in out
    assert acd.agent_state("a2") is AgentState.AVAILABLE


def test_an_agent_removed_during_a_call_is_logged_out_when_the_call_and_wrap_up_end() -> None:
    acd = Acd(QUEUES, AGENTS)
    acd.handle(AgentLoggedIn(0, "a1"))
    acd.handle(ContactArrived(1, "c1", "support"))
    acd.handle(OfferAnswered(2, "c1", "a1"))
    out = acd.handle(reloaded(3, QUEUES, AGENTS[1:]))
    assert acd.agent_state("a1") is AgentState.ON_CALL and states(out) == []
    acd.handle(ContactEnded(10, "c1", "a1"))
    assert acd.agent_state("a1") is AgentState.WRAP_UP
    out = acd.handle(TimerFired(20))
    assert states(out) == [("a1", AgentState.LOGGED_OUT, "")]
    # A member of nothing now: a new call does not reach them.
    assert acd.handle(ContactArrived(30, "c2", "support")) == [Overflow("c2", "support", "no_agents")]


def test_a_ringing_agent_removed_by_a_reload_stops_ringing_and_the_call_goes_to_another() -> None:
    acd = Acd(QUEUES, AGENTS)
    acd.handle(AgentLoggedIn(0, "a1"))
    acd.handle(AgentLoggedIn(1, "a2"))
    assert offers(acd.handle(ContactArrived(2, "c1", "support"))) == [("c1", ("a1",))]
    acd.handle(AgentPaused(2, "a2", "x"))
    out = acd.handle(reloaded(3, QUEUES, (AgentProfile("a2", ("support", "sales")),)))
    assert CancelOffer("c1", "a1") in out
    assert ("a1", AgentState.LOGGED_OUT, "") in states(out)
    assert acd.position("c1") == 1


def test_a_reload_with_a_bad_strategy_changes_nothing() -> None:
    acd = busy_center()
    acd.handle(ContactArrived(1, "c1", "support"))
    with pytest.raises(AcdError):
        acd.handle(reloaded(2, (QueueRules("support", strategy="whoever"),), AGENTS))
    assert acd.position("c1") == 1 and acd.agent_state("a1") is AgentState.PAUSED


# --- a restart while agents talk -------------------------------------------------------------------------


def test_a_call_resumed_after_a_restart_keeps_its_agent_busy_until_it_ends() -> None:
    acd = Acd(QUEUES, AGENTS)
    acd.handle(AgentLoggedIn(0, "a1"))
    out = acd.handle(CallResumed(1, "talking", "support", "a1"))
    assert states(out) == [("a1", AgentState.ON_CALL, "")]
    assert offers(acd.handle(ContactArrived(2, "new", "support"))) == []  # a1 is busy: no second call
    acd.handle(ContactEnded(30, "talking", "a1"))
    assert acd.agent_state("a1") is AgentState.WRAP_UP
    assert offers(acd.handle(TimerFired(40))) == [("new", ("a1",))]


def test_a_paused_agent_found_talking_stays_paused_after_the_call() -> None:
    acd = Acd(QUEUES, AGENTS)
    acd.handle(AgentLoggedIn(0, "a1"))
    acd.handle(AgentPaused(0, "a1", "lunch"))
    acd.handle(CallResumed(1, "talking", "support", "a1"))
    assert acd.agent_state("a1") is AgentState.ON_CALL
    acd.handle(ContactEnded(5, "talking", "a1"))
    out = acd.handle(TimerFired(20))
    assert states(out) == [("a1", AgentState.PAUSED, "lunch")]
    assert acd.handle(ContactArrived(21, "c", "support")) == [] and acd.position("c") == 1


def test_a_call_resumed_for_a_logged_out_agent_changes_no_state() -> None:
    acd = Acd(QUEUES, AGENTS)
    assert acd.handle(CallResumed(1, "talking", "support", "a1")) == []
    assert acd.handle(ContactEnded(5, "talking", "a1")) == []
    assert acd.agent_state("a1") is AgentState.LOGGED_OUT
