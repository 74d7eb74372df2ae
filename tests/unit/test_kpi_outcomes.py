"""Wrap-up attributed to the contact it follows; the FCR proxy; IVR containment. Figures worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from callcenter.kpi.contacts import ContactOutcome, QueueContact
from callcenter.kpi.measures import measure
from callcenter.kpi.outcomes import CallOrigin, contained, identifies_caller, ivr_call, repeated_calls
from callcenter.kpi.wrapup import WrapUp, attribute_wrapup, wrapups_from_events
from callcenter.records import AgentEvent, Outcome

T0 = datetime(2024, 3, 10, 10, 0, tzinfo=UTC)


def sec(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def talked(lid: str, queue: str, agent: str, ended: datetime, talk: float = 60.0) -> QueueContact:
    return QueueContact(
        "pbx1", lid, queue, ended - sec(talk + 5), ContactOutcome.ANSWERED, wait_seconds=5.0, agent=agent,
        talk_seconds=talk, ended_at=ended,
    )  # fmt: skip


def ev(agent: str, when: datetime, state: str) -> AgentEvent:
    return AgentEvent("pbx1", agent, state, "", when)


# --- wrap-up ---------------------------------------------------------------------------------------------------


def test_wrap_up_goes_to_the_contact_the_agent_just_ended_across_queues() -> None:
    contacts = [
        talked("c1", "sales", "a1", T0),
        talked("c2", "support", "a1", T0 + sec(120)),  # the same agent, another queue
        talked("c3", "sales", "a2", T0),  # another agent ending at the same moment
    ]
    events = [
        ev("a1", T0 + sec(1), "wrap_up"),  # 1 s after the end: within the 2 s tolerance
        ev("a1", T0 + sec(16), "available"),  # 15 s of wrap-up
        ev("a1", T0 + sec(120), "wrap_up"),
        ev("a1", T0 + sec(130), "available"),  # 10 s
        ev("a2", T0 - sec(0.5), "wrap_up"),  # stamped a moment before the step
        ev("a2", T0 + sec(29.5), "paused"),  # 30 s: the pause ends the wrap-up
    ]
    result = attribute_wrapup(contacts, wrapups_from_events(events))
    assert [c.wrapup_seconds for c in result] == [15.0, 10.0, 30.0]
    # AHT includes it: talk 3 * 60 + wrap-up 55 over 3 handled contacts
    assert measure(result).aht_seconds == pytest.approx((180 + 55) / 3)


def test_wrap_up_too_far_from_the_end_or_not_ended_yet_counts_nothing() -> None:
    contacts = [talked("c1", "sales", "a1", T0), talked("c2", "sales", "a2", T0)]
    spans = [WrapUp("a1", T0 + sec(2.5), T0 + sec(20)), WrapUp("a2", T0, None)]
    assert [c.wrapup_seconds for c in attribute_wrapup(contacts, spans)] == [0.0, 0.0]


def test_one_wrap_up_span_goes_to_the_nearest_contact_only() -> None:
    # Two contacts of a1 end 1.5 s apart (a transfer's two legs): the span starting at +1.4 s is the later one's.
    contacts = [talked("c1", "sales", "a1", T0), talked("c2", "sales", "a1", T0 + sec(1.5))]
    spans = [WrapUp("a1", T0 + sec(1.4), T0 + sec(11.4))]
    assert [c.wrapup_seconds for c in attribute_wrapup(contacts, spans)] == [0.0, 10.0]


# --- FCR proxy ---------------------------------------------------------------------------------------------------


def test_a_call_is_repeated_by_the_same_number_within_24_hours_inclusive() -> None:
    calls = [
        CallOrigin("x1", "+79160000001", T0),
        CallOrigin("x2", "+79160000001", T0 + timedelta(hours=24)),  # exactly 24 h later: repeats x1
        CallOrigin("y1", "+79160000002", T0),
        CallOrigin("y2", "+79160000002", T0 + timedelta(hours=24, seconds=1)),  # 1 s too late
        CallOrigin("w1", "", T0),  # withheld numbers are never matched
        CallOrigin("w2", "", T0 + sec(60)),
        CallOrigin("z1", "+79160000003", T0 + sec(30)),
    ]
    assert repeated_calls(calls) == {"x1"}
    assert repeated_calls(calls, window=timedelta(hours=25)) == {"x1", "y1"}


def test_withheld_callers_are_no_number_and_never_repeat_each_other() -> None:
    assert identifies_caller("+79160000001") and identifies_caller("79160000001") and identifies_caller("112")
    for withheld in ("", "unknown", "anonymous", "Restricted", "+", "12", "7916 000", "+7916-000-00-01"):
        assert not identifies_caller(withheld), withheld
    calls = [
        CallOrigin("u1", "unknown", T0),  # what Asterisk's AGI gives for a call with no number
        CallOrigin("u2", "unknown", T0 + sec(60)),
        CallOrigin("a1", "anonymous", T0),  # what SIP trunks often send
        CallOrigin("a2", "anonymous", T0 + sec(90)),
    ]
    assert repeated_calls(calls) == set()


# --- IVR containment ------------------------------------------------------------------------------------------


def test_containment_counts_self_service_ends_among_ivr_calls() -> None:
    # (outcome, menus met, reached a queue)
    calls = [
        (Outcome.COMPLETED, 2, False),  # a message, then the dialplan hung up: contained
        (Outcome.COMPLETED, 1, True),  # completed after a queue (overflow message): not contained
        (Outcome.ABANDONED, 1, False),  # hung up in the menus: an IVR call, not contained
        (Outcome.VOICEMAIL, 1, False),  # left a message for people: not contained
        (Outcome.ANSWERED, 1, True),
        (Outcome.CLOSED, 1, False),  # out of hours: not an IVR call
        (Outcome.REFUSED, 0, False),
        (Outcome.COMPLETED, 0, False),  # no menu met: not an IVR call
    ]
    ivr = sum(ivr_call(outcome, menus) for outcome, menus, _ in calls)
    kept = sum(contained(outcome, menus, queued) for outcome, menus, queued in calls)
    assert (ivr, kept) == (5, 1)  # containment 1 / 5
