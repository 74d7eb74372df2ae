"""callcenter.kpi: queue contacts from call steps, and the GUIDE §3 KPIs over them.

The dataset below is 30 calls (32 queue contacts: one transfer and one overflow make a second visit).
Every expected figure is written as a literal worked out by hand in the comments, not by running the
code. Thresholds are the defaults unless said: T = 20 s, S = 5 s.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from callcenter.kpi.contacts import ContactOutcome, QueueContact, contacts_from_steps
from callcenter.kpi.measures import (
    Thresholds,
    by_agent,
    by_line,
    by_queue,
    intervals,
    measure,
    measure_by_queue,
)
from callcenter.kpi.sums import ContactSums, contact_sums, kpis, measures_of, total
from callcenter.records import CallStep, StepKind

L1 = "+78001000001"
L2 = "+78001000002"


def at(hms: str, day: int = 10) -> datetime:
    """A moment on 2024-03-<day> UTC, "HH:MM:SS(.fff)"."""
    hours, minutes, seconds = hms.split(":")
    return datetime(2024, 3, day, int(hours), int(minutes), tzinfo=UTC) + timedelta(seconds=float(seconds))


def sec(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def step(lid: str, when: datetime, kind: StepKind, queue: str = "", **values: object) -> CallStep:
    return CallStep("pbx1", lid, when, kind, queue, **values)  # type: ignore[arg-type]


def queued(lid: str, queue: str, entered: datetime) -> CallStep:
    return step(lid, entered, StepKind.QUEUED, queue, position=1)


def talk_steps(
    lid: str, queue: str, entered: datetime, wait: float, talk: float, agent: str, hold: float = 0.0
) -> list[CallStep]:
    """Answer after ``wait``; ``talk`` is talk proper: the ended step's seconds are talk + hold."""
    connected = entered + sec(wait)
    steps = [
        step(lid, connected, StepKind.OFFERED, queue, agent=agent, seconds=0.0, result="answered"),
        step(lid, connected, StepKind.CONNECTED, queue, agent=agent, seconds=wait),
    ]
    if hold:
        steps.append(step(lid, connected + sec(1), StepKind.HOLD, agent=agent, seconds=hold))
    steps.append(step(lid, connected + sec(talk + hold), StepKind.ENDED, queue, agent=agent, seconds=talk + hold))
    return steps


def answered(
    lid: str,
    queue: str,
    entered: datetime,
    wait: float,
    talk: float,
    agent: str,
    hold: float = 0.0,
    no_answer: tuple[str, ...] = (),
) -> list[CallStep]:
    rang = [
        step(lid, entered + sec(i), StepKind.OFFERED, queue, agent=other, seconds=1.0, result="no_answer")
        for i, other in enumerate(no_answer)
    ]
    return [queued(lid, queue, entered), *rang, *talk_steps(lid, queue, entered, wait, talk, agent, hold)]


def abandoned(lid: str, queue: str, entered: datetime, wait: float) -> list[CallStep]:
    end = step(lid, entered + sec(wait), StepKind.ABANDONED, queue, seconds=wait, result="in_queue")
    return [queued(lid, queue, entered), end]


def overflowed(lid: str, queue: str, entered: datetime, wait: float, why: str = "max_wait") -> list[CallStep]:
    end = step(lid, entered + sec(wait), StepKind.OVERFLOWED, queue, seconds=wait, result=why, detail="message")
    return [queued(lid, queue, entered), end]


def callback(lid: str, queue: str, entered: datetime, wait: float) -> list[CallStep]:
    asked = entered + sec(wait)
    return [
        queued(lid, queue, entered),
        step(lid, asked, StepKind.CALLBACK_REQUESTED, queue, seconds=wait, detail="+79990000000"),
        # The callback's own call: an agent rings out, another takes it. Not this visit's figures.
        step(lid, asked + sec(60), StepKind.OFFERED, queue, agent="a3", seconds=15.0, result="no_answer"),
        step(lid, asked + sec(90), StepKind.CALLBACK_DIALLED, queue, agent="a2", result="answered"),
        step(lid, asked + sec(95), StepKind.ENDED, queue, agent="a2", seconds=40.0),
    ]


def transferred_call() -> list[CallStep]:
    """c17: answered in sales by a1 after 6 s, 10 s on hold, 60 s talk, transferred (blind) to support,
    where a3 answers after 12 s and talks 200 s."""
    lid = "c17"
    return [
        queued(lid, "sales", at("09:16:00")),
        step(lid, at("09:16:00"), StepKind.OFFERED, "sales", agent="a1", seconds=6.0, result="answered"),
        step(lid, at("09:16:06"), StepKind.CONNECTED, "sales", agent="a1", seconds=6.0),
        step(lid, at("09:16:30"), StepKind.HOLD, agent="a1", seconds=10.0),
        step(lid, at("09:17:15"), StepKind.TRANSFERRED, "sales", agent="a1", detail="blind:support"),
        step(lid, at("09:17:16"), StepKind.ENDED, "sales", agent="a1", seconds=70.0),
        queued(lid, "support", at("09:17:20")),
        *talk_steps(lid, "support", at("09:17:20"), 12, 200, "a3"),
    ]


def overflow_to_queue() -> list[CallStep]:
    """c18: nobody logged in to sales (overflow at 0 s) -> support, answered by a3 after 4 s, 50 s talk."""
    lid = "c18"
    return [
        queued(lid, "sales", at("09:20:00")),
        step(lid, at("09:20:00"), StepKind.OVERFLOWED, "sales", seconds=0.0, result="nobody", detail="queue:support"),
        *answered(lid, "support", at("09:20:01"), 4, 50, "a3"),
    ]


def resumed_call() -> list[CallStep]:
    """c20: a2 answers after 9 s; the service restarts, the end comes from the resync without seconds."""
    lid = "c20"
    return [
        queued(lid, "sales", at("09:28:00")),
        step(lid, at("09:28:09"), StepKind.CONNECTED, "sales", agent="a2", seconds=9.0),
        step(lid, at("09:30:09"), StepKind.ENDED, "sales", agent="a2"),  # 120 s after the answer
    ]


# (line, steps) per call. Contact table: id queue entered outcome wait agent talk hold.
CALLS: list[tuple[str, list[CallStep]]] = [
    (L1, answered("c01", "sales", at("09:00:00"), 3, 60, "a1")),  # fast
    (L1, answered("c02", "sales", at("09:01:00"), 8, 120, "a2")),
    (L1, answered("c03", "sales", at("09:02:00"), 20, 90, "a1")),  # exactly T: within
    (L1, answered("c04", "sales", at("09:03:00"), 20.5, 30, "a2")),  # just over T
    (L1, answered("c05", "sales", at("09:04:00"), 45, 200, "a1")),  # slow
    (L1, abandoned("c06", "sales", at("09:05:00"), 5)),  # exactly S: short
    (L1, abandoned("c07", "sales", at("09:06:00"), 5.5)),  # just over S, within T
    (L1, abandoned("c08", "sales", at("09:07:00"), 20)),  # exactly T: within T
    (L1, abandoned("c09", "sales", at("09:08:00"), 50)),
    (L1, abandoned("c10", "sales", at("09:09:00"), 2)),  # short
    (L1, answered("c11", "sales", at("09:10:00"), 25, 100, "a2", no_answer=("a3",))),  # ring-no-answer first
    (L1, answered("c12", "sales", at("09:11:00"), 10, 150, "a1", hold=30)),  # hold
    (L1, overflowed("c13", "sales", at("09:12:00"), 60)),
    (L1, callback("c14", "sales", at("09:13:00"), 30)),
    (L1, answered("c15", "sales", at("09:14:50"), 15, 40, "a3")),  # answered 09:15:05: counts at 09:00
    (L1, answered("c16", "sales", at("09:15:00"), 0, 30, "a3")),  # enters exactly at 09:15
    (L1, transferred_call()),  # c17a sales, c17b support
    (L1, overflow_to_queue()),  # c18a sales, c18b support
    (L1, [queued("c19", "sales", at("09:25:00"))]),  # still waiting
    (L1, resumed_call()),  # c20
    (L2, answered("c21", "support", at("23:59:50", day=9), 12, 60, "a4")),  # answered after midnight
    (L2, abandoned("c22", "support", at("00:00:00"), 30)),
    (L2, answered("c23", "support", at("00:14:59"), 21, 45, "a4")),
    (L2, answered("c24", "support", at("00:15:00"), 1, 10, "a4")),
    (L2, abandoned("c25", "support", at("23:59:59"), 3)),  # short, last second of the day
    (L2, answered("c26", "support", at("09:40:00"), 19.9, 80, "a3")),
    (L2, abandoned("c27", "support", at("09:41:00"), 25)),
    (L2, answered("c28", "support", at("09:42:00"), 30, 100, "a4", no_answer=("a3", "a3"))),
    (L2, overflowed("c29", "support", at("09:43:00"), 0, why="full")),
    (L1, callback("c30", "sales", at("09:44:00"), 5)),  # a callback at exactly S: not an abandon
]


def all_contacts() -> list[QueueContact]:
    return [contact for line, steps in CALLS for contact in contacts_from_steps(steps, line)]


def by_id(contacts: list[QueueContact], lid: str) -> list[QueueContact]:
    return [c for c in contacts if c.linkedid == lid]


# --- contacts from steps ------------------------------------------------------------------------------------


def test_dataset_contacts() -> None:
    contacts = all_contacts()
    assert len(contacts) == 32  # 30 calls, + c17b and c18b

    c17 = by_id(contacts, "c17")
    assert [(c.queue, c.outcome, c.wait_seconds, c.agent) for c in c17] == [
        ("sales", ContactOutcome.ANSWERED, 6.0, "a1"),
        ("support", ContactOutcome.ANSWERED, 12.0, "a3"),
    ]
    # ENDED says 70 s with 10 s of hold inside: talk 60, hold 10.
    assert (c17[0].talk_seconds, c17[0].hold_seconds, c17[0].transferred) == (60.0, 10.0, True)
    assert (c17[1].talk_seconds, c17[1].hold_seconds, c17[1].transferred) == (200.0, 0.0, False)
    assert c17[1].entered_at == at("09:17:20") and c17[1].line == L1

    c18 = by_id(contacts, "c18")
    assert [(c.queue, c.outcome, c.wait_seconds) for c in c18] == [
        ("sales", ContactOutcome.OVERFLOWED, 0.0),
        ("support", ContactOutcome.ANSWERED, 4.0),
    ]

    (c12,) = by_id(contacts, "c12")
    assert (c12.talk_seconds, c12.hold_seconds) == (150.0, 30.0)
    (c11,) = by_id(contacts, "c11")
    assert (c11.ring_no_answer, c11.agent, c11.wait_seconds) == (1, "a2", 25.0)
    (c28,) = by_id(contacts, "c28")
    assert c28.ring_no_answer == 2

    # The callback's own ring-out and talk are not the visit's.
    (c14,) = by_id(contacts, "c14")
    assert (c14.outcome, c14.wait_seconds, c14.agent, c14.talk_seconds, c14.ring_no_answer) == (
        ContactOutcome.CALLBACK,
        30.0,
        "",
        None,
        0,
    )
    (c19,) = by_id(contacts, "c19")
    assert (c19.outcome, c19.wait_seconds) == (ContactOutcome.WAITING, None)
    (c20,) = by_id(contacts, "c20")
    assert c20.talk_seconds == 120.0  # 09:28:09 -> 09:30:09
    (c06,) = by_id(contacts, "c06")
    assert (c06.outcome, c06.wait_seconds, c06.node) == (ContactOutcome.ABANDONED, 5.0, "pbx1")


def test_steps_in_journal_order_give_the_same_contacts() -> None:
    # Offers and holds are journaled when they end, stamped when they began: sorted back by time.
    # (Steps stamped at the same instant keep their input order: a stable sort.)
    for _, steps in CALLS:
        late = [s for s in steps if s.kind in (StepKind.OFFERED, StepKind.HOLD)]
        journaled = [s for s in steps if s not in late] + late
        assert journaled != steps or not late
        assert contacts_from_steps(journaled) == contacts_from_steps(steps)


def test_steps_before_the_first_queue_and_holds_outside_the_talk_are_ignored() -> None:
    steps = [
        step("x", at("10:00:00"), StepKind.HOLD, agent="a1", seconds=5.0),  # no visit yet
        *answered("x", "sales", at("10:00:10"), 5, 60, "a1"),
        step("x", at("10:05:00"), StepKind.HOLD, agent="a1", seconds=7.0),  # after the end
    ]
    (contact,) = contacts_from_steps(steps)
    assert (contact.hold_seconds, contact.talk_seconds) == (0.0, 60.0)
    assert contacts_from_steps([]) == []


def test_a_caller_requeued_after_a_restart_is_one_contact_with_the_whole_wait() -> None:
    steps = [
        step("x", at("10:00:00"), StepKind.QUEUED, queue="support"),
        # the service restarted; the caller is back in line at the place they had (queued at their old time)
        step("x", at("10:00:00") + timedelta(milliseconds=1), StepKind.QUEUED, queue="support"),
        step("x", at("10:01:30"), StepKind.ABANDONED, queue="support", seconds=90.0),
    ]
    (contact,) = contacts_from_steps(steps)
    assert (contact.outcome, contact.wait_seconds) == (ContactOutcome.ABANDONED, 90.0)


def test_queued_again_after_an_end_or_in_another_queue_is_a_new_contact() -> None:
    steps = [
        *answered("x", "sales", at("10:00:00"), 5, 60, "a1"),
        step("x", at("10:01:10"), StepKind.QUEUED, queue="sales"),  # transferred back to the same queue
        step("x", at("10:01:20"), StepKind.QUEUED, queue="support"),  # still waiting in sales: another queue
    ]
    assert [(c.queue, c.outcome) for c in contacts_from_steps(steps)] == [
        ("sales", ContactOutcome.ANSWERED),
        ("sales", ContactOutcome.WAITING),
        ("support", ContactOutcome.WAITING),
    ]


def test_a_transfer_written_after_the_end_still_marks_the_visit() -> None:
    steps = [
        *answered("x", "sales", at("10:00:00"), 5, 60, "a1"),
        step("x", at("10:01:10"), StepKind.TRANSFERRED, agent="a1", detail="blind:+74950000000"),
    ]
    (contact,) = contacts_from_steps(steps)
    assert contact.transferred


def test_an_abandon_while_ringing_is_not_a_ring_no_answer() -> None:
    steps = [
        queued("x", "sales", at("10:00:00")),
        step("x", at("10:00:02"), StepKind.OFFERED, "sales", agent="a1", seconds=4.0, result="caller_hung_up"),
        step("x", at("10:00:06"), StepKind.ABANDONED, "sales", seconds=6.0, result="in_queue"),
    ]
    (contact,) = contacts_from_steps(steps)
    assert (contact.outcome, contact.wait_seconds, contact.ring_no_answer) == (ContactOutcome.ABANDONED, 6.0, 0)


# --- the dataset's measures -----------------------------------------------------------------------------------


def test_dataset_overall() -> None:
    m = measure(all_contacts(), Thresholds())
    assert m.offered == 32
    # answered: c01-05, c11, c12, c15, c16, c17a, c17b, c18b, c20 (13) + c21, c23, c24, c26, c28 (5) = 18
    assert m.answered == 18
    # abandoned: c06-c10, c22, c25, c27 = 8; short (<= 5 s): c06 (5), c10 (2), c25 (3) = 3
    assert (m.abandoned, m.short_abandoned) == (8, 3)
    assert (m.overflowed, m.callbacks, m.transferred) == (3, 2, 1)  # c13, c18a, c29; c14, c30; c17a
    # within 20 s: all answered but c04 (20.5), c05 (45), c11 (25), c23 (21), c28 (30): 18 - 5 = 13
    assert m.answered_within_target == 13
    # abandoned after S and within T: c07 (5.5), c08 (20) = 2; c09 (50), c22 (30), c27 (25) are later
    assert m.abandoned_within_target == 2
    # sl_offered = 13 / (32 - 3)
    assert m.sl_offered == pytest.approx(13 / 29)
    assert m.sl_answered == pytest.approx(13 / 18)
    # sl_asterisk2 = (13 + 2) / (18 + 5 abandons after S)
    assert m.sl_asterisk2 == pytest.approx(15 / 23)
    # abandonment = 5 abandons after S / 29
    assert m.abandonment_rate == pytest.approx(5 / 29)
    # ASA: sales/L1 3+8+20+20.5+45+25+10+15+0+6+12+4+9 = 177.5; support/L2 12+21+1+19.9+30 = 83.9 -> 261.4
    assert m.asa_seconds == pytest.approx(261.4 / 18)
    assert m.max_wait_seconds == 60.0  # c13's overflow, longer than c09's 50 s abandon
    # talk: 60+120+90+30+200+100+150+40+30+60+200+50+120 = 1250; 60+45+10+80+100 = 295 -> 1545
    assert (m.handled, m.talk_seconds, m.hold_seconds, m.wrapup_seconds) == (18, 1545.0, 40.0, 0.0)
    assert m.aht_seconds == pytest.approx(1585 / 18)  # (1545 + 40 + 0) / 18
    assert m.ring_no_answer == 3  # c11: 1, c28: 2 (c14's callback ring-out is not counted)


def test_dataset_per_queue() -> None:
    queues = by_queue(all_contacts())
    assert {name: len(group) for name, group in queues.items()} == {"sales": 21, "support": 11}

    sales = measure(queues["sales"])
    # answered 11 (c01-05, c11, c12, c15, c16, c17a, c20), 8 within T (not c04, c05, c11)
    assert (sales.answered, sales.answered_within_target) == (11, 8)
    assert (sales.abandoned, sales.short_abandoned, sales.abandoned_within_target) == (5, 2, 2)
    assert sales.sl_offered == pytest.approx(8 / 19)  # 21 - 2 short
    assert sales.sl_answered == pytest.approx(8 / 11)
    assert sales.sl_asterisk2 == pytest.approx(10 / 14)  # (8 + 2) / (11 + 3)
    assert sales.abandonment_rate == pytest.approx(3 / 19)
    assert sales.asa_seconds == pytest.approx(161.5 / 11)  # 3+8+20+20.5+45+25+10+15+0+6+9

    support = measure(queues["support"])
    # answered c17b 12, c18b 4, c21 12, c23 21, c24 1, c26 19.9, c28 30: 5 within T
    assert (support.answered, support.answered_within_target) == (7, 5)
    assert support.sl_offered == pytest.approx(5 / 10)  # 11 - 1 short (c25)
    assert support.sl_answered == pytest.approx(5 / 7)
    assert support.sl_asterisk2 == pytest.approx(5 / 9)  # abandons after S: c22, c27, neither within T
    assert support.abandonment_rate == pytest.approx(2 / 10)
    assert support.asa_seconds == pytest.approx(99.9 / 7)


def test_dataset_per_queue_thresholds() -> None:
    per_queue = measure_by_queue(all_contacts(), {"support": Thresholds(service_seconds=30)})
    # support at T = 30: all 7 answered within (c28 waited exactly 30); sales keeps the default
    assert per_queue["support"].answered_within_target == 7
    assert per_queue["support"].sl_answered == 1.0
    assert per_queue["sales"].answered_within_target == 8


def test_dataset_intervals() -> None:
    buckets = intervals(all_contacts())
    assert {start: len(group) for start, group in buckets.items()} == {
        at("23:45:00", day=9): 1,  # c21 (answered after midnight, counted where it entered)
        at("00:00:00"): 2,  # c22, c23 (00:14:59)
        at("00:15:00"): 1,  # c24
        at("09:00:00"): 15,  # c01-c15 (c15 entered 09:14:50, answered 09:15:05)
        at("09:15:00"): 7,  # c16, c17a, c17b, c18a, c18b, c19, c20
        at("09:30:00"): 5,  # c26-c30
        at("23:45:00"): 1,  # c25
    }
    assert list(buckets) == sorted(buckets)

    nine = measure(buckets[at("09:00:00")])
    # answered c01-05, c11, c12, c15 = 8, within T c01, c02, c03, c12, c15 = 5; short c06, c10
    assert (nine.offered, nine.answered, nine.answered_within_target) == (15, 8, 5)
    assert nine.sl_offered == pytest.approx(5 / 13)
    quarter_past = measure(buckets[at("09:15:00")])
    # answered c16 0, c17a 6, c17b 12, c18b 4, c20 9: all within T; c18a overflow, c19 waiting count against
    assert quarter_past.sl_offered == pytest.approx(5 / 7)
    assert quarter_past.sl_answered == 1.0

    hours = intervals(all_contacts(), timedelta(hours=1))
    assert {start: len(group) for start, group in hours.items()} == {
        at("23:00:00", day=9): 1,
        at("00:00:00"): 3,
        at("09:00:00"): 27,  # 15 + 7 + 5
        at("23:00:00"): 1,
    }


def test_dataset_per_line_and_agent() -> None:
    contacts = all_contacts()
    assert {line: len(group) for line, group in by_line(contacts).items()} == {L1: 23, L2: 9}

    agents = by_agent(contacts)
    assert {agent: len(group) for agent, group in agents.items()} == {"a1": 5, "a2": 4, "a3": 5, "a4": 4}
    a1 = measure(agents["a1"])
    # c01 60, c03 90, c05 200, c12 150 (+30 hold), c17a 60 (+10 hold): (560 + 40) / 5
    assert (a1.talk_seconds, a1.hold_seconds, a1.transferred) == (560.0, 40.0, 1)
    assert a1.aht_seconds == pytest.approx(120.0)
    assert measure(agents["a2"]).aht_seconds == pytest.approx(92.5)  # 120+30+100+120 = 370 / 4
    assert measure(agents["a4"]).aht_seconds == pytest.approx(53.75)  # 60+45+10+100 = 215 / 4


# --- the rules, one at a time --------------------------------------------------------------------------------


def contact(outcome: ContactOutcome, wait: float | None, **values: object) -> QueueContact:
    return QueueContact("pbx1", "x", "q", at("10:00:00"), outcome, wait_seconds=wait, **values)  # type: ignore[arg-type]


ANS, ABN = ContactOutcome.ANSWERED, ContactOutcome.ABANDONED


def test_an_answer_exactly_at_t_is_within_and_just_after_is_not() -> None:
    t = Thresholds(service_seconds=20, short_abandon_seconds=5)
    assert measure([contact(ANS, 20.0)], t).answered_within_target == 1
    assert measure([contact(ANS, 20.001)], t).answered_within_target == 0
    assert measure([contact(ANS, 19.999)], t).sl_offered == 1.0


def test_an_abandon_exactly_at_s_is_short_and_just_after_is_not() -> None:
    t = Thresholds(service_seconds=20, short_abandon_seconds=5)
    at_s = measure([contact(ABN, 5.0)], t)
    assert (at_s.short_abandoned, at_s.abandonment_rate, at_s.sl_offered, at_s.sl_asterisk2) == (1, None, None, None)
    after_s = measure([contact(ABN, 5.001)], t)
    assert (after_s.short_abandoned, after_s.abandonment_rate, after_s.sl_offered) == (0, 1.0, 0.0)
    assert (after_s.abandoned_within_target, after_s.sl_asterisk2) == (1, 1.0)


def test_an_abandon_exactly_at_t_is_within_t_for_sl2_and_just_after_is_not() -> None:
    t = Thresholds(service_seconds=20, short_abandon_seconds=5)
    assert measure([contact(ANS, 30.0), contact(ABN, 20.0)], t).sl_asterisk2 == 0.5
    assert measure([contact(ANS, 30.0), contact(ABN, 20.001)], t).sl_asterisk2 == 0.0


def test_no_contacts_no_ratios() -> None:
    m = measure([])
    assert (m.offered, m.handled, m.talk_seconds) == (0, 0, 0.0)
    assert (m.sl_offered, m.sl_answered, m.sl_asterisk2, m.abandonment_rate) == (None, None, None, None)
    assert (m.asa_seconds, m.max_wait_seconds, m.aht_seconds) == (None, None, None)


def test_overflows_and_callbacks_count_against_sl_offered_only() -> None:
    contacts = [
        contact(ANS, 10.0, agent="a1", talk_seconds=50.0),
        contact(ContactOutcome.OVERFLOWED, 90.0),
        contact(ContactOutcome.CALLBACK, 3.0),  # quicker than S, but not an abandon: never short
        contact(ContactOutcome.WAITING, None),
    ]
    m = measure(contacts)
    assert (m.sl_offered, m.sl_answered, m.sl_asterisk2, m.abandonment_rate) == (0.25, 1.0, 1.0, 0.0)
    assert (m.asa_seconds, m.max_wait_seconds) == (10.0, 90.0)


def test_aht_adds_wrapup_and_counts_only_calls_whose_end_is_known() -> None:
    done = contact(ANS, 4.0, agent="a1", talk_seconds=100.0, hold_seconds=20.0)
    contacts = [
        dataclasses.replace(done, wrapup_seconds=30.0),
        contact(ANS, 4.0, agent="a1"),  # talking still: answered, not handled
    ]
    m = measure(contacts)
    assert (m.answered, m.handled, m.wrapup_seconds) == (2, 1, 30.0)
    assert m.aht_seconds == 150.0  # (100 + 20 + 30) / 1


def test_intervals_are_utc_aligned_from_midnight() -> None:
    moscow = timezone(timedelta(hours=3))
    late = dataclasses.replace(contact(ANS, 1.0), entered_at=datetime(2024, 3, 10, 2, 5, tzinfo=moscow))
    naive = dataclasses.replace(contact(ANS, 1.0), entered_at=datetime(2024, 3, 10, 10, 29, 59))
    assert list(intervals([late, naive])) == [at("23:00:00", day=9), at("10:15:00")]  # 02:05+03 is 23:05 UTC
    # 7 minutes does not divide an hour: aligned from midnight, 10:29:59 (629.98 min) is in 623-630, 10:23
    assert list(intervals([naive], timedelta(minutes=7))) == [at("10:23:00")]
    with pytest.raises(ValueError):
        intervals([naive], timedelta(0))


def test_the_kpi_modules_are_pure() -> None:
    probe = (
        "import json, sys, callcenter.kpi.contacts, callcenter.kpi.measures;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('asyncio', 'aiohttp', 'panoramisk', 'sqlalchemy', 'psycopg'))))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == []


# --- additive sums (what the rollups store) give the same figures --------------------------------------------


def test_summed_contact_sums_give_the_measures_of_the_dataset_per_queue_and_interval() -> None:
    thresholds = {"support": Thresholds(service_seconds=30, short_abandon_seconds=2)}
    contacts = all_contacts()
    groups = [*by_queue(contacts).values(), *intervals(contacts).values(), contacts]
    for group in groups:
        queue_of = {c.queue for c in group}
        for queue in queue_of:
            mine = [c for c in group if c.queue == queue]
            limits = thresholds.get(queue, Thresholds())
            want = measure(mine, limits)
            sums = total(contact_sums(c, limits) for c in mine)
            got = kpis(sums)
            for name in ("offered", "answered", "abandoned", "short_abandoned", "overflowed", "callbacks"):
                assert getattr(sums, name) == getattr(want, name), name
            assert (sums.answered_within_target, sums.abandoned_within_target) == (
                want.answered_within_target,
                want.abandoned_within_target,
            )
            assert (sums.handled, sums.talk_seconds, sums.hold_seconds) == (
                want.handled,
                want.talk_seconds,
                want.hold_seconds,
            )
            assert sums.max_wait_seconds == want.max_wait_seconds
            for name in ("sl_offered", "sl_answered", "sl_asterisk2", "asa_seconds", "aht_seconds"):
                assert getattr(got, name) == pytest.approx(getattr(want, name)), name
            assert got.abandonment_rate == pytest.approx(want.abandonment_rate)


def test_measures_of_summed_contacts_equal_the_measures_of_the_contacts() -> None:
    limits = Thresholds(service_seconds=30, short_abandon_seconds=2)
    contacts = all_contacts()
    for group in [*by_queue(contacts).values(), *intervals(contacts).values(), contacts, []]:
        want = measure(group, limits)
        got = measures_of(total(contact_sums(c, limits) for c in group))
        for name, value in dataclasses.asdict(want).items():
            assert getattr(got, name) == pytest.approx(value), name


def test_fcr_from_sums_counts_answered_contacts_whose_call_was_not_repeated() -> None:
    contacts = all_contacts()
    repeated = {"c01", "c17"}  # c17's two answered visits both count as not resolved
    sums = total(contact_sums(c, repeated=c.linkedid in repeated) for c in contacts)
    # 18 answered; c01, c17a, c17b repeated: 15 resolved
    assert (sums.answered, sums.resolved) == (18, 15)
    assert kpis(sums).fcr == pytest.approx(15 / 18)
    assert kpis(ContactSums()).fcr is None


def test_a_contact_knows_when_its_conversation_ended() -> None:
    contacts = all_contacts()
    c17 = by_id(contacts, "c17")
    assert [c.ended_at for c in c17] == [at("09:17:16"), at("09:17:32") + sec(200)]
    assert by_id(contacts, "c20")[0].ended_at == at("09:30:09")
    assert by_id(contacts, "c06")[0].ended_at is None  # abandoned: no conversation
